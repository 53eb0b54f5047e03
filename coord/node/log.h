/* log.h: coordd's log, one line per event on stderr:
 *   2026-11-22T04:30:41.123Z INFO  became leader in term 5
 * The level is set once at start; the functions are safe from any thread
 * (each line is one write). */
#ifndef COORD_LOG_H
#define COORD_LOG_H

#include "config.h"

void coord_log_set_level(enum coord_log_level level);
void coord_log(enum coord_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) coord_log(COORD_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...)  coord_log(COORD_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...)  coord_log(COORD_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) coord_log(COORD_LOG_ERROR, __VA_ARGS__)

#endif
