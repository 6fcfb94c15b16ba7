#ifndef CLINUX_BASE_H
#define CLINUX_BASE_H
#include <sys/eventfd.h>

/* eventfd(2) flags (EFD_CLOEXEC, EFD_NONBLOCK). */
extern const int clinux_EFD_CLOEXEC;
extern const int clinux_EFD_NONBLOCK;

/* Names the calling thread (prctl PR_SET_NAME; at most 15 bytes are kept). */
void clinux_set_thread_name(const char *name);

/* accept4(fd, NULL, NULL, SOCK_CLOEXEC): glibc declares accept4 only under _GNU_SOURCE, which Swift's Glibc module
   does not define. Returns the connected descriptor (close-on-exec) or -1 with errno set. */
int clinux_accept_cloexec(int fd);
#endif
