/*
 * The CGPIOD shim: one API (include/CGPIOD.h) over libgpiod 1.x and 2.x, chosen at compile time.
 *
 * libgpiod 1.x (Debian 12, 1.6.3) defines GPIOD_LINE_BULK_MAX_LINES in <gpiod.h>; libgpiod 2.x (Debian 13, 2.2.1,
 * and every 2.0/2.1 release) has no line bulks at all and uses line settings, a line config and a request config
 * instead. Only functions present since 2.0 are used in the 2.x branch. Tests/scripts/check-gpiod-v2.sh compiles
 * this file against both headers; define CGPIOD_EXPECT_API_MAJOR to make a header mix-up a compile error.
 */
#include <gpiod.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "CGPIOD.h"

#ifdef GPIOD_LINE_BULK_MAX_LINES
#define CGPIOD_API_MAJOR 1
#include <sys/epoll.h>
_Static_assert(GPIOD_LINE_BULK_MAX_LINES >= CGPIOD_MAX_LINES, "a 1.x line bulk must hold CGPIOD_MAX_LINES lines");
#else
#define CGPIOD_API_MAJOR 2
#endif

#if defined(CGPIOD_EXPECT_API_MAJOR) && CGPIOD_EXPECT_API_MAJOR != CGPIOD_API_MAJOR
#error "<gpiod.h> is not the libgpiod API this build expects (CGPIOD_EXPECT_API_MAJOR)"
#endif

int cgpiod_api_major(void) { return CGPIOD_API_MAJOR; }

/* Sets O_NONBLOCK so that draining events never blocks: the kernel's line event read() returns EAGAIN then
   (drivers/gpio/gpiolib-cdev.c, lineevent_read / linereq_read). */
static int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static bool valid_count(size_t count) { return count > 0 && count <= CGPIOD_MAX_LINES; }

/* The first offset listed twice, or CGPIOD_OFFSET_UNKNOWN. */
static unsigned int first_duplicate(const unsigned int *offsets, size_t count) {
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (offsets[i] == offsets[j]) return offsets[i];
    return CGPIOD_OFFSET_UNKNOWN;
}

static void store_offset(unsigned int *failed_offset, unsigned int offset) {
    if (failed_offset) *failed_offset = offset;
}

#if CGPIOD_API_MAJOR == 1
/* ===================================== libgpiod 1.x ===================================== */

struct cgpiod_chip {
    struct gpiod_chip *chip;
};

struct cgpiod_request {
    struct gpiod_line_bulk bulk;
    size_t count;
    /* epoll instance over the per-line event fds, or -1 for an output request. */
    int epoll_fd;
};

struct cgpiod_chip *cgpiod_chip_open(const char *path) {
    struct cgpiod_chip *out = calloc(1, sizeof *out);
    if (!out) return NULL;
    out->chip = gpiod_chip_open(path);
    if (!out->chip) {
        int saved = errno;
        free(out);
        errno = saved;
        return NULL;
    }
    return out;
}

void cgpiod_chip_close(struct cgpiod_chip *chip) {
    if (!chip) return;
    gpiod_chip_close(chip->chip);
    free(chip);
}

int cgpiod_chip_num_lines(struct cgpiod_chip *chip) {
    unsigned int n = gpiod_chip_num_lines(chip->chip);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* After a failed request: the offset at fault, found without disturbing errno. */
static unsigned int diagnose(struct cgpiod_chip *chip, const unsigned int *offsets, size_t count) {
    int saved = errno;
    unsigned int found = first_duplicate(offsets, count);
    unsigned int lines = gpiod_chip_num_lines(chip->chip);
    for (size_t i = 0; found == CGPIOD_OFFSET_UNKNOWN && i < count; i++)
        if (offsets[i] >= lines) found = offsets[i];
    for (size_t i = 0; found == CGPIOD_OFFSET_UNKNOWN && i < count; i++) {
        struct gpiod_line *line = gpiod_chip_get_line(chip->chip, offsets[i]);
        if (line && gpiod_line_update(line) == 0 && gpiod_line_is_used(line)) found = offsets[i];
    }
    errno = saved;
    return found;
}

/* Fills a new request's bulk with the chip's lines at `offsets`. */
static struct cgpiod_request *new_request(struct cgpiod_chip *chip, const unsigned int *offsets, size_t count,
                                          unsigned int *failed_offset) {
    if (!valid_count(count)) {
        errno = EINVAL;
        return NULL;
    }
    struct cgpiod_request *req = calloc(1, sizeof *req);
    if (!req) return NULL;
    req->count = count;
    req->epoll_fd = -1;
    unsigned int copy[CGPIOD_MAX_LINES]; /* gpiod_chip_get_lines takes a non-const array */
    memcpy(copy, offsets, count * sizeof copy[0]);
    if (gpiod_chip_get_lines(chip->chip, copy, (unsigned int)count, &req->bulk) != 0) {
        int saved = errno;
        store_offset(failed_offset, diagnose(chip, offsets, count));
        free(req);
        errno = saved;
        return NULL;
    }
    return req;
}

struct cgpiod_request *cgpiod_request_outputs(struct cgpiod_chip *chip, const char *consumer,
                                              const unsigned int *offsets, const int *initial_values, size_t count,
                                              enum cgpiod_drive drive, unsigned int *failed_offset) {
    store_offset(failed_offset, CGPIOD_OFFSET_UNKNOWN);
    struct cgpiod_request *req = new_request(chip, offsets, count, failed_offset);
    if (!req) return NULL;
    int flags = drive == CGPIOD_DRIVE_OPEN_DRAIN ? GPIOD_LINE_REQUEST_FLAG_OPEN_DRAIN : 0;
    if (gpiod_line_request_bulk_output_flags(&req->bulk, consumer, flags, initial_values) != 0) {
        int saved = errno;
        store_offset(failed_offset, diagnose(chip, offsets, count));
        free(req);
        errno = saved;
        return NULL;
    }
    return req;
}

struct cgpiod_request *cgpiod_request_inputs_pull_up_both_edges(struct cgpiod_chip *chip, const char *consumer,
                                                                const unsigned int *offsets, size_t count,
                                                                unsigned int *failed_offset) {
    store_offset(failed_offset, CGPIOD_OFFSET_UNKNOWN);
    struct cgpiod_request *req = new_request(chip, offsets, count, failed_offset);
    if (!req) return NULL;
    if (gpiod_line_request_bulk_both_edges_events_flags(&req->bulk, consumer, GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP)
        != 0) {
        int saved = errno;
        store_offset(failed_offset, diagnose(chip, offsets, count));
        free(req);
        errno = saved;
        return NULL;
    }
    /* 1.x gives every line its own event fd (GPIO_GET_LINEEVENT_IOCTL); gather them in one epoll instance. */
    req->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (req->epoll_fd < 0) goto fail;
    for (unsigned int i = 0; i < (unsigned int)count; i++) {
        int fd = gpiod_line_event_get_fd(gpiod_line_bulk_get_line(&req->bulk, i));
        if (fd < 0 || set_nonblocking(fd) != 0) goto fail;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(req->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) goto fail;
    }
    return req;
fail:;
    int saved = errno;
    cgpiod_request_release(req);
    errno = saved;
    return NULL;
}

size_t cgpiod_request_num_lines(const struct cgpiod_request *request) { return request->count; }

int cgpiod_request_set_values(struct cgpiod_request *request, const int *values) {
    return gpiod_line_set_value_bulk(&request->bulk, values) == 0 ? 0 : -1;
}

int cgpiod_request_get_values(struct cgpiod_request *request, int *values) {
    return gpiod_line_get_value_bulk(&request->bulk, values) == 0 ? 0 : -1;
}

int cgpiod_request_event_fd(struct cgpiod_request *request) {
    if (request->epoll_fd < 0) {
        errno = EINVAL;
        return -1;
    }
    return request->epoll_fd;
}

int cgpiod_request_read_edges(struct cgpiod_request *request, struct cgpiod_edge *edges, size_t max) {
    if (request->epoll_fd < 0) {
        errno = EINVAL;
        return -1;
    }
    size_t total = 0;
    for (unsigned int i = 0; i < (unsigned int)request->count && total < max; i++) {
        struct gpiod_line *line = gpiod_line_bulk_get_line(&request->bulk, i);
        struct gpiod_line_event events[16];
        size_t want = max - total < 16 ? max - total : 16;
        int n = gpiod_line_event_read_multiple(line, events, (unsigned int)want);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
            return -1;
        }
        for (int k = 0; k < n; k++, total++) {
            edges[total].offset = gpiod_line_offset(line);
            edges[total].rising = events[k].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
            edges[total].timestamp_ns =
                (uint64_t)events[k].ts.tv_sec * 1000000000u + (uint64_t)events[k].ts.tv_nsec;
        }
    }
    return (int)total;
}

void cgpiod_request_release(struct cgpiod_request *request) {
    if (!request) return;
    if (request->epoll_fd >= 0) close(request->epoll_fd);
    gpiod_line_release_bulk(&request->bulk);
    free(request);
}

#else
/* ===================================== libgpiod 2.x ===================================== */

struct cgpiod_chip {
    struct gpiod_chip *chip;
};

struct cgpiod_request {
    struct gpiod_line_request *request;
    size_t count;
    /* Edge event buffer, or NULL for an output request. */
    struct gpiod_edge_event_buffer *events;
};

struct cgpiod_chip *cgpiod_chip_open(const char *path) {
    struct cgpiod_chip *out = calloc(1, sizeof *out);
    if (!out) return NULL;
    out->chip = gpiod_chip_open(path);
    if (!out->chip) {
        int saved = errno;
        free(out);
        errno = saved;
        return NULL;
    }
    return out;
}

void cgpiod_chip_close(struct cgpiod_chip *chip) {
    if (!chip) return;
    gpiod_chip_close(chip->chip);
    free(chip);
}

int cgpiod_chip_num_lines(struct cgpiod_chip *chip) {
    struct gpiod_chip_info *info = gpiod_chip_get_info(chip->chip);
    if (!info) return -1;
    size_t n = gpiod_chip_info_get_num_lines(info);
    gpiod_chip_info_free(info);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* After a failed request: the offset at fault, found without disturbing errno. */
static unsigned int diagnose(struct cgpiod_chip *chip, const unsigned int *offsets, size_t count) {
    int saved = errno;
    unsigned int found = first_duplicate(offsets, count);
    int lines = cgpiod_chip_num_lines(chip);
    for (size_t i = 0; found == CGPIOD_OFFSET_UNKNOWN && lines >= 0 && i < count; i++)
        if (offsets[i] >= (unsigned int)lines) found = offsets[i];
    for (size_t i = 0; found == CGPIOD_OFFSET_UNKNOWN && i < count; i++) {
        struct gpiod_line_info *info = gpiod_chip_get_line_info(chip->chip, offsets[i]);
        if (!info) continue;
        if (gpiod_line_info_is_used(info)) found = offsets[i];
        gpiod_line_info_free(info);
    }
    errno = saved;
    return found;
}

/* Requests `offsets` with `settings` (and per-line output values when `values` is not NULL). */
static struct gpiod_line_request *request_lines(struct gpiod_chip *chip, const char *consumer,
                                                const unsigned int *offsets, size_t count,
                                                struct gpiod_line_settings *settings,
                                                const enum gpiod_line_value *values) {
    struct gpiod_line_request *request = NULL;
    struct gpiod_line_config *line_config = gpiod_line_config_new();
    struct gpiod_request_config *request_config = gpiod_request_config_new();
    if (!line_config || !request_config) goto out;
    gpiod_request_config_set_consumer(request_config, consumer);
    if (gpiod_line_config_add_line_settings(line_config, offsets, count, settings) != 0) goto out;
    if (values && gpiod_line_config_set_output_values(line_config, values, count) != 0) goto out;
    request = gpiod_chip_request_lines(chip, request_config, line_config);
out:;
    int saved = errno;
    if (request_config) gpiod_request_config_free(request_config);
    if (line_config) gpiod_line_config_free(line_config);
    errno = saved;
    return request;
}

struct cgpiod_request *cgpiod_request_outputs(struct cgpiod_chip *chip, const char *consumer,
                                              const unsigned int *offsets, const int *initial_values, size_t count,
                                              enum cgpiod_drive drive, unsigned int *failed_offset) {
    store_offset(failed_offset, CGPIOD_OFFSET_UNKNOWN);
    if (!valid_count(count)) {
        errno = EINVAL;
        return NULL;
    }
    struct cgpiod_request *req = calloc(1, sizeof *req);
    if (!req) return NULL;
    req->count = count;
    enum gpiod_line_value values[CGPIOD_MAX_LINES];
    for (size_t i = 0; i < count; i++)
        values[i] = initial_values[i] ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    if (settings && gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT) == 0
        && gpiod_line_settings_set_drive(settings, drive == CGPIOD_DRIVE_OPEN_DRAIN ? GPIOD_LINE_DRIVE_OPEN_DRAIN
                                                                                   : GPIOD_LINE_DRIVE_PUSH_PULL)
               == 0)
        req->request = request_lines(chip->chip, consumer, offsets, count, settings, values);
    int saved = errno;
    if (settings) gpiod_line_settings_free(settings);
    if (!req->request) {
        store_offset(failed_offset, diagnose(chip, offsets, count));
        free(req);
        errno = saved;
        return NULL;
    }
    return req;
}

struct cgpiod_request *cgpiod_request_inputs_pull_up_both_edges(struct cgpiod_chip *chip, const char *consumer,
                                                                const unsigned int *offsets, size_t count,
                                                                unsigned int *failed_offset) {
    store_offset(failed_offset, CGPIOD_OFFSET_UNKNOWN);
    if (!valid_count(count)) {
        errno = EINVAL;
        return NULL;
    }
    struct cgpiod_request *req = calloc(1, sizeof *req);
    if (!req) return NULL;
    req->count = count;
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    if (settings && gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_INPUT) == 0
        && gpiod_line_settings_set_bias(settings, GPIOD_LINE_BIAS_PULL_UP) == 0
        && gpiod_line_settings_set_edge_detection(settings, GPIOD_LINE_EDGE_BOTH) == 0)
        req->request = request_lines(chip->chip, consumer, offsets, count, settings, NULL);
    int saved = errno;
    if (settings) gpiod_line_settings_free(settings);
    if (!req->request) {
        store_offset(failed_offset, diagnose(chip, offsets, count));
        free(req);
        errno = saved;
        return NULL;
    }
    req->events = gpiod_edge_event_buffer_new(CGPIOD_MAX_LINES);
    if (!req->events || set_nonblocking(gpiod_line_request_get_fd(req->request)) != 0) {
        saved = errno;
        cgpiod_request_release(req);
        errno = saved;
        return NULL;
    }
    return req;
}

size_t cgpiod_request_num_lines(const struct cgpiod_request *request) { return request->count; }

int cgpiod_request_set_values(struct cgpiod_request *request, const int *values) {
    enum gpiod_line_value levels[CGPIOD_MAX_LINES];
    for (size_t i = 0; i < request->count; i++)
        levels[i] = values[i] ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE;
    return gpiod_line_request_set_values(request->request, levels) == 0 ? 0 : -1;
}

int cgpiod_request_get_values(struct cgpiod_request *request, int *values) {
    enum gpiod_line_value levels[CGPIOD_MAX_LINES];
    if (gpiod_line_request_get_values(request->request, levels) != 0) return -1;
    for (size_t i = 0; i < request->count; i++) {
        if (levels[i] == GPIOD_LINE_VALUE_ERROR) {
            errno = EIO;
            return -1;
        }
        values[i] = levels[i] == GPIOD_LINE_VALUE_ACTIVE;
    }
    return 0;
}

int cgpiod_request_event_fd(struct cgpiod_request *request) {
    if (!request->events) {
        errno = EINVAL;
        return -1;
    }
    return gpiod_line_request_get_fd(request->request);
}

int cgpiod_request_read_edges(struct cgpiod_request *request, struct cgpiod_edge *edges, size_t max) {
    if (!request->events) {
        errno = EINVAL;
        return -1;
    }
    if (max > CGPIOD_MAX_LINES) max = CGPIOD_MAX_LINES; /* the buffer's capacity */
    if (max == 0) return 0;
    int n = gpiod_line_request_read_edge_events(request->request, request->events, max);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int k = 0; k < n; k++) {
        struct gpiod_edge_event *event = gpiod_edge_event_buffer_get_event(request->events, (unsigned long)k);
        edges[k].offset = gpiod_edge_event_get_line_offset(event);
        edges[k].rising = gpiod_edge_event_get_event_type(event) == GPIOD_EDGE_EVENT_RISING_EDGE;
        edges[k].timestamp_ns = gpiod_edge_event_get_timestamp_ns(event);
    }
    return n;
}

void cgpiod_request_release(struct cgpiod_request *request) {
    if (!request) return;
    if (request->request) gpiod_line_request_release(request->request);
    if (request->events) gpiod_edge_event_buffer_free(request->events);
    free(request);
}
#endif
