/* Small macros shared by every layer. */
#ifndef BERTH_COMMON_MACROS_H
#define BERTH_COMMON_MACROS_H

#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
