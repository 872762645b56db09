/* berth-init embedded in berthd as read-only data; runtime/spawn_memfd.c
 * copies it into a sealed memfd. BERTH_INIT_PATH comes from CMake. */
#include <stddef.h>

#ifndef BERTH_INIT_PATH
#error "BERTH_INIT_PATH must name the built berth-init"
#endif

__asm__(".section .rodata.berth_init,\"a\",@progbits\n"
        ".balign 16\n"
        ".globl berth_init_bin\n"
        ".type berth_init_bin, @object\n"
        "berth_init_bin:\n"
        ".incbin \"" BERTH_INIT_PATH "\"\n"
        "berth_init_bin_end:\n"
        ".size berth_init_bin, berth_init_bin_end - berth_init_bin\n"
        ".balign 8\n"
        ".globl berth_init_bin_len\n"
        ".type berth_init_bin_len, @object\n"
        "berth_init_bin_len:\n"
        ".quad berth_init_bin_end - berth_init_bin\n"
        ".size berth_init_bin_len, 8\n"
        ".previous\n");
