/* constraints.h: biological constraints on a rate RNN's parameters (rnn.h), as in
 * PsychRNN (Ehrlich et al. 2021, eNeuro 8:ENEURO.0427-20.2020): Dale's law,
 * connectivity masks, fixed (untrained) weight sets and no autapses.
 *
 * All constraints act on the parameter block [W | U | b | V | c] of rnn.h as two
 * per-parameter tables, built once:
 *   free (P,)  1 where a parameter is trained, 0 where it is masked out or fixed;
 *   sign (P,)  +1 (must stay >= 0), -1 (must stay <= 0) or 0 (either sign).
 * Every learning rule (bptt, fa, rflo, esn) goes through the same two calls around the
 * optimiser: rnn_constraints_grad() multiplies its update direction by `free` (so a
 * masked or fixed parameter receives no update, and the angle of fa/rflo to the true
 * gradient is measured in the space of the trained parameters), and
 * rnn_constraints_project() after the step clips sign-constrained weights back to
 * zero (the projected-gradient rule for a sign constraint), zeroes masked weights and
 * restores fixed ones exactly. A sign therefore never flips and a masked connection
 * stays exactly zero over any training run.
 *
 * Dale's law: the first round(ei_ratio N) units are excitatory, the rest inhibitory;
 * every outgoing weight of a unit (its column of W, V) has the unit's sign. The
 * initial weights become |W| with those signs, the inhibitory columns scaled by
 * N_E / N_I so that every row sums to zero on average (balanced), then W is rescaled
 * to its initial Frobenius norm.
 * Masks: W_ij (post i, pre j), U_ij, V_kj are kept at zero where mask = 0; masks come
 * from .npy files of the matrix's shape or, for W, from a random density.
 * No autapses: W_ii = 0.
 *
 * Example:
 *     rnn_constraint_spec s = rnn_constraint_none();
 *     s.dale = 1; s.ei_ratio = 0.8; s.autapses = 0;
 *     rnn_constraints *c = rnn_constraints_alloc(net, &s, r);
 *     rnn_constraints_init(c, net);            // after rnn_init
 *     ... rnn_backward(...); rnn_constraints_grad(c, net->grads);
 *     optim_step(...); rnn_constraints_project(c, net->params);
 */
#ifndef ENGRAM_CONSTRAINTS_H
#define ENGRAM_CONSTRAINTS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "engram/config.h"
#include "engram/rnn.h"

enum { RNN_FIX_W_REC = 1, RNN_FIX_W_IN = 2, RNN_FIX_B_REC = 4, RNN_FIX_W_OUT = 8, RNN_FIX_B_OUT = 16 };

typedef struct rnn_constraint_spec {
    int dale;               /* Dale's law on W and V */
    double ei_ratio;        /* fraction of excitatory units */
    int autapses;           /* 0: W_ii = 0 */
    double rec_density;     /* random recurrent mask with this connection probability (1 = none) */
    const double *mask_in;  /* (N, I) or NULL */
    const double *mask_rec; /* (N, N) or NULL */
    const double *mask_out; /* (O, N) or NULL */
    unsigned fixed;         /* RNN_FIX_* bits: untrained blocks */
} rnn_constraint_spec;

typedef struct rnn_constraints {
    size_t n_params, n_exc;
    double *free;           /* (P,) */
    signed char *sign;      /* (P,) */
    double *fixed_values;   /* (P,) the initial values of the fixed parameters */
    int active;             /* 0: no constraint at all (the calls are no-ops) */
} rnn_constraints;

/* The unconstrained spec (autapses allowed, no Dale, no mask, nothing fixed). */
rnn_constraint_spec rnn_constraint_none(void);

/* Builds the tables for net; draws the random recurrent mask (rec_density < 1) from r.
 * NULL with engram_error() set on bad values or out of memory. */
rnn_constraints *rnn_constraints_alloc(const rnn *net, const rnn_constraint_spec *s, gsl_rng *r);

/* Frees; NULL is a no-op. */
void rnn_constraints_free(rnn_constraints *c);

/* Makes the initial weights of net obey the constraints (Dale signs and balance, masks,
 * no autapses) and records the values of the fixed parameters. */
void rnn_constraints_init(rnn_constraints *c, rnn *net);

/* grads (P,) *= free. */
void rnn_constraints_grad(const rnn_constraints *c, double *grads);

/* Projects params (P,) back onto the constraint set after an update. */
void rnn_constraints_project(const rnn_constraints *c, double *params);

/* Number of parameters of params (P,) that break a constraint (a wrong sign, a nonzero
 * masked weight, a fixed weight that moved). */
size_t rnn_constraints_violations(const rnn_constraints *c, const double *params);

/* Reads the constraint keys (rnn_constraint_keys) that cfg has into *s; mask files are
 * read into *mask_store (3 malloc'd blocks for in, rec, out; the caller frees them)
 * and checked against the shapes (N, I), (N, N), (O, N). Returns ENGRAM_OK or a status
 * with a one-line message. */
int rnn_constraint_spec_read(const config *cfg, size_t n_in, size_t n_rec, size_t n_out,
                             rnn_constraint_spec *s, double *mask_store[3]);

/* The configuration keys of the constraints (model.dale, model.ei_ratio,
 * model.autapses, model.rec_density, model.mask_in, model.mask_rec, model.mask_out,
 * model.fixed). NULL-terminated. */
extern const cfg_key rnn_constraint_keys[];

#endif
