#ifndef CGPIOD_H
#define CGPIOD_H
/*
 * A small uniform C API over libgpiod for the keypad matrix driver (LinuxDevices.GpiodMatrixLines).
 *
 * libgpiod changed its whole API between 1.x (Debian 12: libgpiod-dev 1.6.3) and 2.x (Debian 13: libgpiod-dev
 * 2.2.1). gpiod_shim.c picks the branch at COMPILE time from <gpiod.h> (GPIOD_LINE_BULK_MAX_LINES exists only in
 * 1.x); there are no weak symbols and no dlopen. This header does not include <gpiod.h>: every libgpiod type stays
 * behind the opaque structs below.
 *
 * Conventions: functions that return a pointer return NULL on failure, functions that return int return -1 on
 * failure; errno then holds the cause and is never clobbered by the clean-up that follows a failure.
 * Line values are physical levels: 0 = low, 1 = high (no active-low inversion is ever requested).
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* At most this many lines per request: GPIOD_LINE_BULK_MAX_LINES (1.x) and GPIO_V2_LINES_MAX (2.x) are both 64. */
#define CGPIOD_MAX_LINES 64

/* "No offset is known to be at fault" (see cgpiod_request_*'s failed_offset). */
#define CGPIOD_OFFSET_UNKNOWN 0xFFFFFFFFu

/* How an output line drives its level. */
enum cgpiod_drive {
    /* Drives both levels. */
    CGPIOD_DRIVE_PUSH_PULL = 0,
    /* Drives low only; "high" leaves the line floating (pulled up elsewhere). */
    CGPIOD_DRIVE_OPEN_DRAIN = 1,
};

/* One edge event read from an input request. */
struct cgpiod_edge {
    /* Offset of the line on its chip. */
    unsigned int offset;
    /* 1 for a rising edge (low to high), 0 for a falling edge. */
    int rising;
    /* Kernel timestamp of the edge, in nanoseconds (CLOCK_MONOTONIC unless configured otherwise). */
    uint64_t timestamp_ns;
};

struct cgpiod_chip;
struct cgpiod_request;

/* The libgpiod API the shim was compiled against: 1 or 2. */
int cgpiod_api_major(void);

/* Opens a GPIO chip character device by path (/dev/gpiochipN). NULL + errno on failure. */
struct cgpiod_chip *cgpiod_chip_open(const char *path);

/* Closes the chip. Release every request made on it first. NULL is ignored. */
void cgpiod_chip_close(struct cgpiod_chip *chip);

/* Number of lines the chip has, or -1 + errno. */
int cgpiod_chip_num_lines(struct cgpiod_chip *chip);

/*
 * Requests `count` lines as outputs, line i starting at level initial_values[i] (0/1).
 * On failure returns NULL with errno set and, when failed_offset is not NULL, stores there the offset found at
 * fault (beyond the chip's last line, or already used by another consumer) or CGPIOD_OFFSET_UNKNOWN.
 */
struct cgpiod_request *cgpiod_request_outputs(struct cgpiod_chip *chip, const char *consumer,
                                              const unsigned int *offsets, const int *initial_values, size_t count,
                                              enum cgpiod_drive drive, unsigned int *failed_offset);

/*
 * Requests `count` lines as inputs with the pull-up bias enabled and edge detection on both edges.
 * Failure is reported as for cgpiod_request_outputs.
 */
struct cgpiod_request *cgpiod_request_inputs_pull_up_both_edges(struct cgpiod_chip *chip, const char *consumer,
                                                                const unsigned int *offsets, size_t count,
                                                                unsigned int *failed_offset);

/* Number of lines in the request. */
size_t cgpiod_request_num_lines(const struct cgpiod_request *request);

/* Sets every output line of the request: values[i] (0/1) for the i-th requested offset. 0 or -1 + errno. */
int cgpiod_request_set_values(struct cgpiod_request *request, const int *values);

/* Reads every line of the request into values[i] (0/1) for the i-th requested offset. 0 or -1 + errno. */
int cgpiod_request_get_values(struct cgpiod_request *request, int *values);

/*
 * A file descriptor that polls readable (POLLIN) while edge events are pending, or -1 + EINVAL when the request
 * has no edge detection. Owned by the request: do not close it. (1.x has one event fd per line; the shim gathers
 * them in an epoll instance so that callers always poll exactly one descriptor.)
 */
int cgpiod_request_event_fd(struct cgpiod_request *request);

/*
 * Reads up to `max` pending edge events without blocking. Returns how many were read (0 when none is pending) or
 * -1 + errno. Call it until it returns 0 to drain the queue.
 */
int cgpiod_request_read_edges(struct cgpiod_request *request, struct cgpiod_edge *edges, size_t max);

/* Releases the lines and frees the request. NULL is ignored. */
void cgpiod_request_release(struct cgpiod_request *request);

#ifdef __cplusplus
}
#endif
#endif
