/* Leveled logging to stderr. Only the daemon's top layers (server/,
 * handlers/) log above debug; lower layers return errors instead. */
#ifndef BERTH_COMMON_LOG_H
#define BERTH_COMMON_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR, LOG_LVL_FATAL };

/* Returns 0, or -EINVAL for an unknown name ("debug", "info", "warn", "error", "fatal"). */
int log_level_parse(const char *name, enum log_level *ret);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs with ": strerror(-r)" appended and returns r, so callers can
 * `return log_errno(r, ...)`. */
int log_errno(enum log_level lvl, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
