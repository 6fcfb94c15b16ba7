#define _GNU_SOURCE
#include "clinux_base.h"
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/socket.h>

const int clinux_EFD_CLOEXEC = EFD_CLOEXEC;
const int clinux_EFD_NONBLOCK = EFD_NONBLOCK;

void clinux_set_thread_name(const char *name) { prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }

int clinux_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }
