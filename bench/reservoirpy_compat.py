"""reservoirpy_compat.py: lets ReservoirPy 0.4.2's source import on Debian 12's NumPy 1.24
and SciPy 1.10, for the benchmark only.

ReservoirPy 0.4.2 calls three things that appeared after those versions:

  numpy.random.Generator.spawn(n)   NumPy >= 1.25
  scipy.sparse.random_array(...)    SciPy >= 1.12
  scipy.sparse.sparray              SciPy >= 1.11 (the base class of the *_array types)

install() adds each one that is missing, with the semantics of the newer library, and
changes nothing that is already present (on new enough NumPy and SciPy it is a no-op).
Call it before importing reservoirpy. It is a benchmark-side shim, not part of engram:

- Generator.spawn: NumPy's own definition is
      [type(self)(type(bg)(seed=s)) for s in bg.seed_seq.spawn(n)]
  with bg = self.bit_generator, i.e. children seeded from SeedSequence.spawn, which NumPy
  1.24 already has. Generator is an immutable extension type, so the method lives on a
  subclass, and numpy.random.default_rng is replaced by a function that returns that
  subclass (same bit generator, PCG64, and the same seeding, so the same streams).
- sparse.random_array(shape, density, format, dtype, random_state, data_sampler): SciPy
  1.12 draws round(density * m * n) distinct positions with random_state.choice (no
  replacement), unravels them in column-major order and fills them with
  data_sampler(size=k). scipy.sparse.random does exactly this in SciPy 1.10 (with the
  sampler called as data_sampler(k)); the result is converted to the sparse *array* type
  random_array returns. Like SciPy 1.12-1.14 it takes random_state (not rng), so
  ReservoirPy passes it an integer seed, as it does on those versions.
- sparse.sparray: SciPy 1.10's *_array classes already derive from
  scipy.sparse._arrays._sparray, which is what sparray names from 1.11 on.
"""
import numpy as np
import scipy.sparse as sparse


class _SpawnGenerator(np.random.Generator):
    """numpy.random.Generator with NumPy 1.25's spawn()."""

    def spawn(self, n_children):
        bg = self.bit_generator
        seq = bg._seed_seq
        if not isinstance(seq, np.random.SeedSequence):
            raise TypeError("The underlying SeedSequence does not implement spawning.")
        return [type(self)(type(bg)(seed=s)) for s in seq.spawn(n_children)]


def _default_rng(seed=None):
    """numpy.random.default_rng returning a generator with spawn()."""
    if isinstance(seed, _SpawnGenerator):
        return seed
    if isinstance(seed, np.random.Generator):
        return _SpawnGenerator(seed.bit_generator)
    if isinstance(seed, np.random.BitGenerator):
        return _SpawnGenerator(seed)
    return _SpawnGenerator(np.random.PCG64(seed))


def _random_array(shape, *, density=0.01, format="coo", dtype=None, random_state=None,
                  data_sampler=None):
    """scipy.sparse.random_array (SciPy 1.12-1.14 signature) on SciPy 1.10."""
    m, n = shape
    if random_state is None:
        random_state = np.random.default_rng()
    mat = sparse.random(m, n, density=density, format="coo", dtype=dtype,
                        random_state=random_state, data_rvs=data_sampler)
    return sparse.coo_array(mat).asformat(format)


def install():
    """Adds the missing pieces (see the module docstring); returns the names added."""
    added = []
    if not hasattr(np.random.Generator, "spawn"):
        np.random.default_rng = _default_rng
        added.append("numpy.random.Generator.spawn")
    if not hasattr(sparse, "random_array"):
        sparse.random_array = _random_array
        added.append("scipy.sparse.random_array")
    if not hasattr(sparse, "sparray"):
        from scipy.sparse import _arrays
        sparse.sparray = _arrays._sparray
        added.append("scipy.sparse.sparray")
    return added
