/* testhelp.h: a tiny test harness. Each check prints one line ("ok" or "FAIL" and a
 * description); each program ends with "N passed, N failed" and exits non-zero on any
 * failure. A program holds a table of named test functions; `prog NAME` runs one.
 *
 *     static void test_sum(void) { CHECK(1 + 1 == 2, "sum of %d and %d", 1, 1); }
 *     static const test_case tests[] = {{"sum", test_sum}, {NULL, NULL}};
 *     int main(int argc, char **argv) { return test_main(argc, argv, tests); }
 */
#ifndef ENGRAM_TESTHELP_H
#define ENGRAM_TESTHELP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int th_passed, th_failed;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        int th_ok_ = (cond) ? 1 : 0;                                              \
        if (th_ok_) th_passed++; else th_failed++;                                \
        printf("%s ", th_ok_ ? "ok  " : "FAIL");                                  \
        printf(__VA_ARGS__);                                                      \
        if (!th_ok_) printf("   [%s:%d]", __FILE__, __LINE__);                    \
        printf("\n");                                                             \
        fflush(stdout);                                                           \
    } while (0)

/* |a - b| <= tol, printing both values. NaN never passes. */
#define CHECK_CLOSE(a, b, tol, what)                                              \
    do {                                                                          \
        double th_a_ = (a), th_b_ = (b), th_t_ = (tol);                           \
        CHECK(fabs(th_a_ - th_b_) <= th_t_, "%s: %.12g vs %.12g (tol %.3g)",      \
              what, th_a_, th_b_, th_t_);                                         \
    } while (0)

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

static int test_main(int argc, char **argv, const test_case *tests) {
    int ran = 0;
    for (const test_case *t = tests; t->name; t++) {
        if (argc > 1 && strcmp(argv[1], t->name) != 0) continue;
        printf("# %s\n", t->name);
        t->fn();
        ran++;
    }
    if (argc > 1 && ran == 0) {
        fprintf(stderr, "no test named '%s'\n", argv[1]);
        return 2;
    }
    printf("%d passed, %d failed\n", th_passed, th_failed);
    return th_failed ? 1 : 0;
}

#endif
