#include <cblas.h>

// OpenBLAS's own, not in cblas.h: ends its thread pool, which the next threaded call starts again (it is what
// OpenBLAS's fork handler calls). An idle pool thread spins for ~2^28 cycles after each call before it sleeps.
// Weak: a single-threaded OpenBLAS build has no pool and no such function.
int blas_thread_shutdown_(void) __attribute__((weak));

static inline void openblas_end_thread_pool(void) {
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}
