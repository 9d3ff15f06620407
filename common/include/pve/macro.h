/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Small language helpers used everywhere: cleanup attributes, ownership transfer, errno
 * conversion, array sizes. No allocation and no I/O happens here beyond close()/free()/fclose()
 * in the cleanup helpers.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_         __attribute__((pure))
#define _noreturn_     __attribute__((noreturn))
#define _likely_(x)    (__builtin_expect(!!(x), 1))
#define _unlikely_(x)  (__builtin_expect(!!(x), 0))
#define _warn_unused_  __attribute__((warn_unused_result))

#define ELEMENTSOF(a)   (sizeof(a) / sizeof((a)[0]))
#define STRLEN(s)       (sizeof("" s "") - 1)
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))
#define streq(a, b)     (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

/* Move ownership out of a _cleanup_ variable: the variable is reset, the value returned. */
#define TAKE_GENERIC(var, type, nullvalue) \
    ({                                     \
        type *_pvar_ = &(var);             \
        type _var_ = *_pvar_;              \
        type _nullvalue_ = nullvalue;      \
        *_pvar_ = _nullvalue_;             \
        _var_;                             \
    })
#define TAKE_PTR(p) TAKE_GENERIC((p), __typeof__(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC((fd), int, -EBADF)

/* Turn a libc "-1 and errno" result into a negative errno, keep non-negative results. */
static inline int negative_errno(void) {
    return errno > 0 ? -errno : -EIO;
}
#define RET_NERRNO(expr)                                     \
    ({                                                       \
        __typeof__(expr) _r_ = (expr);                       \
        _r_ < 0 ? (__typeof__(expr)) negative_errno() : _r_; \
    })

static inline void freep(void *p) {
    free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
    if (fd >= 0) {
        int saved = errno;
        (void) close(fd);
        errno = saved;
    }
    return -EBADF;
}
static inline void closep(int *fd) {
    *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
    if (*f)
        (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Defines <func>p(type *p) for a destructor that takes the pointer value, for _cleanup_(). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
    static inline void func##p(type *p) {       \
        if (*p)                                 \
            *p = func(*p);                      \
    }                                           \
    struct __useless_struct_to_allow_trailing_semicolon__

#define DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(type, func) \
    static inline void func##p(type *p) {            \
        if (*p)                                      \
            func(*p);                                \
    }                                                \
    struct __useless_struct_to_allow_trailing_semicolon__
