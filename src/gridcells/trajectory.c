/* trajectory.c: Raudies & Hasselmo style random walks in a square box (trajectory.h). */
#include <math.h>
#include <gsl/gsl_randist.h>
#include "engram/engram.h"
#include "engram/trajectory.h"

const cfg_key traj_keys[] = {
    {"traj.box", CFG_REAL, "2.2", 0.01, 1000.0, NULL,
     "side of the square box in metres (coordinates in (-box/2, box/2))"},
    {"traj.dt", CFG_REAL, "0.2", 1e-6, 100.0, NULL, "seconds per reported step"},
    {"traj.substeps", CFG_INT, "10", 1, 10000, NULL,
     "simulation sub-steps per reported step (0.02 s each by default)"},
    {"traj.speed_scale", CFG_REAL, "0.13", 1e-6, 100.0, NULL,
     "Rayleigh scale of the forward speed in m/s (mean = scale * 1.2533)"},
    {"traj.rot_std", CFG_REAL, "5.76", 0.0, 1000.0, NULL,
     "standard deviation of the rotational velocity in rad/s"},
    {"traj.wall_zone", CFG_REAL, "0.03", 0.0, 100.0, NULL,
     "distance from a wall (m) within which the agent turns away from it"},
    {"traj.wall_slow", CFG_REAL, "0.25", 1e-6, 1.0, NULL,
     "speed factor while turning away from a wall"},
    {NULL, CFG_INT, NULL, 0, 0, NULL, NULL},
};

void traj_params_default(traj_params *p) {
    p->box = 2.2;
    p->dt = 0.2;
    p->substeps = 10;
    p->speed_scale = 0.13;
    p->rot_std = 5.76;
    p->wall_zone = 0.03;
    p->wall_slow = 0.25;
}

int traj_params_check(const traj_params *p) {
    if (!(p->box > 0) || !isfinite(p->box))
        return engram_fail(ENGRAM_EINVAL, "trajectory: box must be positive (got %g)", p->box);
    if (!(p->dt > 0) || !isfinite(p->dt))
        return engram_fail(ENGRAM_EINVAL, "trajectory: dt must be positive (got %g)", p->dt);
    if (p->substeps < 1)
        return engram_fail(ENGRAM_EINVAL, "trajectory: substeps must be >= 1 (got %ld)",
                           p->substeps);
    if (!(p->speed_scale > 0) || !isfinite(p->speed_scale))
        return engram_fail(ENGRAM_EINVAL, "trajectory: speed_scale must be positive (got %g)",
                           p->speed_scale);
    if (!(p->rot_std >= 0) || !isfinite(p->rot_std))
        return engram_fail(ENGRAM_EINVAL, "trajectory: rot_std must be >= 0 (got %g)",
                           p->rot_std);
    if (!(p->wall_zone >= 0) || !(p->wall_zone < p->box / 2))
        return engram_fail(ENGRAM_EINVAL,
                           "trajectory: wall_zone must be in [0, box/2) (got %g)", p->wall_zone);
    if (!(p->wall_slow > 0) || !(p->wall_slow <= 1))
        return engram_fail(ENGRAM_EINVAL, "trajectory: wall_slow must be in (0, 1] (got %g)",
                           p->wall_slow);
    return ENGRAM_OK;
}

int traj_params_from_config(const config *c, traj_params *p) {
    p->box = config_real(c, "traj.box");
    p->dt = config_real(c, "traj.dt");
    p->substeps = config_int(c, "traj.substeps");
    p->speed_scale = config_real(c, "traj.speed_scale");
    p->rot_std = config_real(c, "traj.rot_std");
    p->wall_zone = config_real(c, "traj.wall_zone");
    p->wall_slow = config_real(c, "traj.wall_slow");
    return traj_params_check(p);
}

/* Wraps an angle to (-pi, pi]. */
static double wrap_angle(double a) {
    double w = fmod(a + M_PI, 2.0 * M_PI); /* (-2pi, 2pi) */
    if (w <= 0) w += 2.0 * M_PI;           /* (0, 2pi] */
    return w - M_PI;
}

/* Distance from (x, y) along the unit direction (c, s) to the boundary of the square
 * (-h, h)^2; the point must be inside. */
static double dist_to_boundary(double x, double y, double c, double s, double h) {
    double d = INFINITY;
    if (c > 0) d = fmin(d, (h - x) / c);
    if (c < 0) d = fmin(d, (-h - x) / c);
    if (s > 0) d = fmin(d, (h - y) / s);
    if (s < 0) d = fmin(d, (-h - y) / s);
    return d;
}

/* One simulation sub-step of length h_t: wall rule, random turn, Rayleigh speed,
 * contained move. Updates *x, *y, *phi (body heading, unwrapped is fine). */
static void substep(const traj_params *p, double h_t, gsl_rng *r, double *x, double *y,
                    double *phi) {
    const double half = 0.5 * p->box;
    /* 1. wall rule: nearest wall and the angle of the heading to its outward normal.
     * Walls in the order right (normal angle 0), top (pi/2), left (pi), bottom (-pi/2),
     * as Sorscher's avoid_wall (first minimum wins). */
    const double dists[4] = {half - *x, half - *y, half + *x, half + *y};
    const double normals[4] = {0.0, 0.5 * M_PI, M_PI, -0.5 * M_PI};
    int iw = 0;
    for (int k = 1; k < 4; k++)
        if (dists[k] < dists[iw]) iw = k;
    double turn = 0.0, slow = 1.0;
    double a = wrap_angle(*phi - normals[iw]);
    if (dists[iw] < p->wall_zone && fabs(a) < 0.5 * M_PI) {
        turn = (a > 0 ? 1.0 : (a < 0 ? -1.0 : 0.0)) * (0.5 * M_PI - fabs(a));
        slow = p->wall_slow;
    }
    /* 2. random turn, 3. speed (draw order: omega, then v). */
    double omega = gsl_ran_gaussian(r, p->rot_std);
    double v = gsl_ran_rayleigh(r, p->speed_scale) * slow;
    *phi = wrap_angle(*phi + turn + h_t * omega);
    /* 4. contained move along the new heading. */
    double c = cos(*phi), s = sin(*phi);
    double step = v * h_t;
    double room = dist_to_boundary(*x, *y, c, s, half);
    if (!(step < room)) step = 0.5 * room;
    double nx = *x + step * c, ny = *y + step * s;
    /* Guard against rounding landing exactly on the boundary. */
    if (!(nx > -half && nx < half && ny > -half && ny < half)) {
        nx = *x;
        ny = *y;
    }
    *x = nx;
    *y = ny;
}

int traj_generate(const traj_params *p, size_t T, gsl_rng *r, double *vel, double *pos,
                  double *hd) {
    int st = traj_params_check(p);
    if (st != ENGRAM_OK) return st;
    const double half = 0.5 * p->box;
    const double h_t = p->dt / (double)p->substeps;
    double x = half * (2.0 * gsl_rng_uniform(r) - 1.0);
    double y = half * (2.0 * gsl_rng_uniform(r) - 1.0);
    double phi = M_PI * (2.0 * gsl_rng_uniform(r) - 1.0);
    if (!(x > -half)) x = 0.0; /* uniform() may return 0 exactly: keep strictly inside */
    if (!(y > -half)) y = 0.0;
    phi = wrap_angle(phi);
    double prev_hd = phi;
    if (pos) { pos[0] = x; pos[1] = y; }
    if (hd) hd[0] = prev_hd;
    for (size_t t = 0; t < T; t++) {
        const double x0 = x, y0 = y;
        for (long k = 0; k < p->substeps; k++) substep(p, h_t, r, &x, &y, &phi);
        double dx = x - x0, dy = y - y0;
        double len = hypot(dx, dy);
        /* Reported heading: the body heading for one sub-step, else the chord's
         * direction (the previous heading if the agent did not move). */
        double new_hd;
        if (p->substeps == 1) new_hd = phi;
        else new_hd = len > 0 ? atan2(dy, dx) : prev_hd;
        new_hd = wrap_angle(new_hd);
        double dphi = new_hd - prev_hd;
        if (vel) {
            vel[3 * t + 0] = len;
            vel[3 * t + 1] = sin(dphi);
            vel[3 * t + 2] = cos(dphi);
        }
        if (pos) { pos[2 * (t + 1)] = x; pos[2 * (t + 1) + 1] = y; }
        if (hd) hd[t + 1] = new_hd;
        prev_hd = new_hd;
    }
    return ENGRAM_OK;
}

int traj_generate_batch(const traj_params *p, size_t B, size_t T, gsl_rng *r, double *vel,
                        double *pos, double *hd) {
    for (size_t b = 0; b < B; b++) {
        int st = traj_generate(p, T, r, vel ? vel + b * T * 3 : NULL,
                               pos ? pos + b * (T + 1) * 2 : NULL,
                               hd ? hd + b * (T + 1) : NULL);
        if (st != ENGRAM_OK) return st;
    }
    return ENGRAM_OK;
}

void traj_integrate(const double *vel, size_t T, const double *pos0, double hd0, double *pos,
                    double *hd) {
    double x = pos0[0], y = pos0[1], phi = hd0;
    pos[0] = x;
    pos[1] = y;
    hd[0] = wrap_angle(phi);
    for (size_t t = 0; t < T; t++) {
        phi = wrap_angle(phi + atan2(vel[3 * t + 1], vel[3 * t + 2]));
        x += vel[3 * t] * cos(phi);
        y += vel[3 * t] * sin(phi);
        pos[2 * (t + 1)] = x;
        pos[2 * (t + 1) + 1] = y;
        hd[t + 1] = phi;
    }
}

void traj_model_input(size_t B, size_t T, const double *vel, const double *pos, int allocentric,
                      double scale, double *inp) {
    const size_t I = allocentric ? 2 : 3;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++) {
            double *o = inp + (b * T + t) * I;
            if (allocentric) {
                const double *p = pos + (b * (T + 1) + t) * 2;
                o[0] = (p[2] - p[0]) * scale;
                o[1] = (p[3] - p[1]) * scale;
            } else {
                const double *v = vel + (b * T + t) * 3;
                o[0] = v[0] * scale;
                o[1] = v[1];
                o[2] = v[2];
            }
        }
}
