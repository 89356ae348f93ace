/* trajectory.h: rodent-like random walks in a square box (inputs of the grid-cell task).
 *
 * What
 * ----
 * The path-integration task of Banino et al. 2018 (Nature 557:429) feeds an LSTM the
 * egocentric velocity of a simulated rat and asks it to report its position and head
 * direction. DeepMind's trajectory generator was never released; the paper says the
 * motion follows Raudies & Hasselmo 2012 (PLoS Comput Biol 8:e1002553). This module
 * implements that motion model with the parameters of the R-Stefano re-implementation
 * (research note gridcells.md §1.4), simulated at a fine step and reported at a coarser
 * one, as Sorscher's notebook "decimates by 10 to approximately match deepmind".
 *
 * Motion model (one simulation sub-step of length h = dt / substeps)
 * ------------------------------------------------------------------
 *   1. wall rule: let d be the distance to the nearest wall and a the angle between the
 *      heading phi and that wall's outward normal, wrapped to (-pi, pi]. If d < wall_zone
 *      and |a| < pi/2 (heading towards the wall), the agent turns by
 *      sign(a) (pi/2 - |a|) (i.e. parallel to the wall) and its speed this sub-step is
 *      multiplied by wall_slow (Sorscher's trajectory_generator.py rule).
 *   2. random turn: phi += h * omega, omega ~ Normal(0, rot_std)  [rad/s]
 *   3. speed v ~ Rayleigh(speed_scale) [m/s], mean speed_scale * sqrt(pi/2)
 *   4. move along the new heading: x += v h (cos phi, sin phi). Containment: if the step
 *      would end outside the open box it is shortened to half the distance to the
 *      boundary along phi, so positions stay strictly inside (-L/2, L/2)^2 for ever.
 *      With the default parameters a step is ~3 mm and the wall zone 3 cm, so this
 *      safety net essentially never fires; it does fire for coarse h.
 *   The draws per sub-step are, in this order: omega (gsl_ran_gaussian), v
 *   (gsl_ran_rayleigh). The start is x ~ U(-L/2, L/2)^2, phi ~ U(-pi, pi), drawn in the
 *   order x, y, phi.
 *
 * Reported steps (what the network sees)
 * --------------------------------------
 * Positions pos[t] are sampled every `substeps` sub-steps (t = 0..T). The reported
 * heading hd[0] is the body heading at the start; for t >= 1, hd[t] is the direction of
 * the chord pos[t] - pos[t-1] (the body heading itself when substeps = 1). The
 * egocentric input of step t (t = 0..T-1) is
 *      vel[t] = ( |pos[t+1] - pos[t]|,  sin(dphi_t),  cos(dphi_t) ),
 *      dphi_t = hd[t+1] - hd[t],
 * i.e. "turn by dphi_t, then move straight by vel[t][0]". Integrating the inputs from
 * (pos[0], hd[0]) therefore reproduces pos[1..T] and hd[1..T] exactly (up to
 * rounding), which the tests check. Headings are wrapped to (-pi, pi].
 *
 * Defaults (traj_params_default)
 * ------------------------------
 *   box = 2.2 m (coordinates in (-1.1, 1.1)), dt = 0.2 s per reported step,
 *   substeps = 10 (simulation step 0.02 s as Raudies & Hasselmo / R-Stefano),
 *   speed_scale = 0.13 m/s (mean speed 0.163 m/s), rot_std = 5.76 rad/s (330 deg/s),
 *   wall_zone = 0.03 m, wall_slow = 0.25.
 * 100 reported steps are 20 s and about 3.3 m of path (heading persistence ~3 s), which
 * covers a good part of the 2.2 m box, like DeepMind's 100-step trajectories.
 * Sorscher's variant is speed_scale = 2 pi 0.13, rot_std = 11.52, dt = 0.02,
 * substeps = 1.
 *
 * Example
 * -------
 *     traj_params p; traj_params_default(&p);
 *     gsl_rng *r = rng_stream_alloc(seed, "data", 0);
 *     double vel[100 * 3], pos[101 * 2], hd[101];
 *     traj_generate(&p, 100, r, vel, pos, hd);
 *
 * Shapes: one trajectory vel (T, 3), pos (T+1, 2), hd (T+1,); a batch vel (B, T, 3),
 * pos (B, T+1, 2), hd (B, T+1). Caller owns all arrays. No allocation.
 */
#ifndef ENGRAM_TRAJECTORY_H
#define ENGRAM_TRAJECTORY_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "engram/config.h"

typedef struct traj_params {
    double box;         /* side L of the square box (m); coordinates in (-L/2, L/2) */
    double dt;          /* seconds per reported step */
    long substeps;      /* simulation sub-steps per reported step (>= 1) */
    double speed_scale; /* Rayleigh scale of the forward speed (m/s) */
    double rot_std;     /* standard deviation of the rotational velocity (rad/s) */
    double wall_zone;   /* distance from a wall where the wall rule acts (m) */
    double wall_slow;   /* speed factor while turning away from a wall (0..1] */
} traj_params;

/* Fills p with the defaults listed in the header comment. */
void traj_params_default(traj_params *p);

/* Checks p (positive box, dt, speed_scale; substeps >= 1; rot_std >= 0;
 * 0 <= wall_zone < box/2; 0 < wall_slow <= 1). Returns ENGRAM_OK or ENGRAM_EINVAL. */
int traj_params_check(const traj_params *p);

/* Config keys "traj.box", "traj.dt", "traj.substeps", "traj.speed_scale",
 * "traj.rot_std", "traj.wall_zone", "traj.wall_slow" with the defaults above;
 * NULL-terminated, for an experiment's key tables. */
extern const cfg_key traj_keys[];

/* Reads the traj_keys values of c into p (c must declare traj_keys). Returns
 * ENGRAM_OK or ENGRAM_EINVAL from traj_params_check. */
int traj_params_from_config(const config *c, traj_params *p);

/* Generates one trajectory of T reported steps from r (see the motion model above).
 * Writes vel (T, 3), pos (T+1, 2) and hd (T+1,); any of the three may be NULL if not
 * wanted (the same draws are made). Returns ENGRAM_OK or ENGRAM_EINVAL. */
int traj_generate(const traj_params *p, size_t T, gsl_rng *r, double *vel, double *pos,
                  double *hd);

/* Generates B trajectories from the single stream r in item order (item 0 first), into
 * vel (B, T, 3), pos (B, T+1, 2), hd (B, T+1); arrays may be NULL as above. The result
 * equals B successive traj_generate calls. Returns ENGRAM_OK or ENGRAM_EINVAL. */
int traj_generate_batch(const traj_params *p, size_t B, size_t T, gsl_rng *r, double *vel,
                        double *pos, double *hd);

/* Integrates egocentric inputs vel (T, 3) from (pos0 (2,), hd0) into pos (T+1, 2) and
 * hd (T+1,) (dead reckoning; the inverse of the input encoding above). */
void traj_integrate(const double *vel, size_t T, const double *pos0, double hd0,
                    double *pos, double *hd);

/* The path integrator's input inp (B, T, I) from a batch's egocentric velocities vel
 * (B, T, 3) = [|dpos|, sin dphi, cos dphi] and positions pos (B, T+1, 2): with
 * allocentric, I = 2 and inp = (pos[t+1] - pos[t]) scale; else I = 3 and
 * inp = [|dpos| scale, sin dphi, cos dphi]. */
void traj_model_input(size_t B, size_t T, const double *vel, const double *pos, int allocentric,
                      double scale, double *inp);

#endif
