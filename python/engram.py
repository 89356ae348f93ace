"""Read engram runs and sweeps from Python (numpy only, no compiled extension).

    import sys; sys.path.insert(0, "python")
    import engram
    run = engram.load_run("runs/anbn-1")
    run.config["train"]["lr"]          # 0.01 (the resolved configuration, typed)
    run.metrics["accuracy"]            # numpy column of metrics.csv
    run.summary["accuracy"]            # summary.json as a dict
    run.arrays["activity"]             # every .npy by name (analysis/pca for subdirectories)
    run["w_out"]                       # the same, shorter
    table = engram.load_sweep("runs/mc-radius")
    table["reservoir.spectral_radius"], table["memory_capacity"]

A run directory holds config.ini, metrics.csv, summary.json, .npy arrays, other CSV
tables (for example gridscores.csv), PNG figures and, for long runs, checkpoint.bin.
load_run reads them all: arrays with numpy.load, CSV tables into dicts of numpy columns
(empty or "nan" cells are NaN), figures as paths with their PNG width and height, and the
checkpoint's header (experiment and step) after verifying its checksum.
"""

import configparser
import csv
import json
import os
import struct

import numpy as np

__all__ = ["Run", "load_run", "load_sweep", "read_table", "read_config", "read_checkpoint_header"]


def _typed(text):
    """The value of an INI or CSV cell: int, float, bool or the text itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_config(path):
    """config.ini as {section: {key: value}} with typed values."""
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str
    with open(path) as f:
        parser.read_file(f)
    return {s: {k: _typed(v) for k, v in parser[s].items()} for s in parser.sections()}


def read_table(path):
    """A CSV file with a header row as {column: numpy array}: float columns when every
    cell is a number (or empty / nan), string columns otherwise. Column order is kept."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: empty CSV file")
    header, body = rows[0], rows[1:]
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise ValueError(f"{path}:{i + 2}: {len(r)} cells, header has {len(header)}")
    table = {}
    for j, name in enumerate(header):
        cells = [r[j] for r in body]
        try:
            table[name] = np.array([float(c) if c.strip() else np.nan for c in cells], dtype=float)
        except ValueError:
            table[name] = np.array(cells, dtype=str)
    return table


def _fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_checkpoint_header(path):
    """checkpoint.bin's experiment, step and blob names, after checking its magic and
    FNV-1a checksum (layout in include/engram/run.h). Raises ValueError if corrupt."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 + 4 + 8 or data[:8] != b"ENGRAMCK":
        raise ValueError(f"{path}: not an engram checkpoint")
    (stored,) = struct.unpack_from("<Q", data, len(data) - 8)
    if _fnv1a(data[:-8]) != stored:
        raise ValueError(f"{path}: checksum mismatch")
    pos = 8
    (version,) = struct.unpack_from("<I", data, pos); pos += 4
    (n,) = struct.unpack_from("<I", data, pos); pos += 4
    experiment = data[pos:pos + n].decode(); pos += n
    config_hash = None
    if version >= 2:  # format 2: a u64 hash of the resolved configuration follows the name
        (config_hash,) = struct.unpack_from("<Q", data, pos); pos += 8
    (step,) = struct.unpack_from("<q", data, pos); pos += 8
    (n_blobs,) = struct.unpack_from("<I", data, pos); pos += 4
    blobs = []
    for _ in range(n_blobs):
        (n,) = struct.unpack_from("<I", data, pos); pos += 4
        name = data[pos:pos + n].decode(); pos += n
        (size,) = struct.unpack_from("<Q", data, pos); pos += 8 + size
        blobs.append((name, size))
    if pos != len(data) - 8:
        raise ValueError(f"{path}: blob sizes do not add up")
    return {"version": version, "experiment": experiment, "config_hash": config_hash, "step": step,
            "blobs": blobs}


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG file")
    return struct.unpack(">II", head[16:24])


class Run:
    """One run directory: config, metrics, summary, arrays, tables, figures, checkpoint."""

    def __init__(self, path):
        self.path = path
        self.config = read_config(os.path.join(path, "config.ini"))
        mpath = os.path.join(path, "metrics.csv")
        self.metrics = read_table(mpath) if os.path.exists(mpath) else {}
        spath = os.path.join(path, "summary.json")
        self.summary = {}
        if os.path.exists(spath):
            with open(spath) as f:
                self.summary = json.load(f)
        self.arrays, self.tables, self.figures = {}, {}, {}
        self.checkpoint = None
        self.other = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, path)
                stem, ext = os.path.splitext(rel)
                if rel in ("config.ini", "metrics.csv", "summary.json") or name == ".lock":
                    continue  # .lock: the run directory's lock file (pid of its last holder)
                if ext == ".npy":
                    self.arrays[stem] = np.load(full, allow_pickle=False)
                elif ext == ".csv":
                    self.tables[stem] = read_table(full)
                elif ext == ".png":
                    self.figures[stem] = (full, _png_size(full))
                elif rel == "checkpoint.bin":
                    self.checkpoint = read_checkpoint_header(full)
                else:
                    self.other.append(rel)

    def __getitem__(self, name):
        return self.arrays[name]

    def __repr__(self):
        return (f"Run({self.path!r}: {self.summary.get('experiment', '?')}, seed "
                f"{self.summary.get('seed', '?')}, {len(self.arrays)} arrays)")


def load_run(path):
    """Reads the run directory `path` (see Run)."""
    return Run(path)


def load_sweep(path):
    """The table of a sweep directory as {column: numpy array}: collect.csv when
    `engram collect` wrote it, else manifest.csv joined with each point's summary.json."""
    cpath = os.path.join(path, "collect.csv")
    if os.path.exists(cpath):
        return read_table(cpath)
    manifest = read_table(os.path.join(path, "manifest.csv"))
    rows = []
    for d in manifest["dir"]:
        spath = os.path.join(path, str(d), "summary.json")
        rows.append(json.load(open(spath)) if os.path.exists(spath) else {})
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys and k not in manifest and k not in ("seed", "status")]
    table = dict(manifest)
    for k in keys:
        vals = [r.get(k) for r in rows]
        if all(v is None or isinstance(v, (int, float)) for v in vals):
            table[k] = np.array([np.nan if v is None else float(v) for v in vals])
        else:
            table[k] = np.array(["" if v is None else str(v) for v in vals], dtype=str)
    return table
