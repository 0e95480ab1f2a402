/*
 * The initrd as the test kernel sees it: a cpio "newc" archive (gzip'ed or not) that
 * the Launcher put at the top of RAM, unpacked into a table of named files whose
 * bytes stay where they are (or where gunzip put them).
 */
#ifndef TESTKERNEL_INITRD_H
#define TESTKERNEL_INITRD_H

#include "lguest.h"

struct initrd_file {
        const char *name;               /* without a leading "./" or "/" */
        const u8 *data;
        u32 size;
        u32 mode;                       /* cpio's st_mode: 0100000 is a regular file */
};

#define INITRD_MAX_FILES        64

/* Reads boot_params' ramdisk fields; returns (and sets initrd_file_count to) how many
 * files it found, or -1 if there is no initrd or it is not an archive we can read. */
int initrd_load(const u8 *boot_params);
const struct initrd_file *initrd_find(const char *name);
extern struct initrd_file initrd_files[INITRD_MAX_FILES];
extern int initrd_file_count;
extern int initrd_was_gzip;
extern int initrd_present;             /* the Launcher gave one, readable or not */

/* inflate.c */
int inflate(const u8 *in, u32 in_size, u8 *out, u32 out_size, u32 *out_length);
int is_gzip(const u8 *data, u32 size);
int gunzip(const u8 *data, u32 size, u8 **out, u32 *out_length);
u32 crc32(const u8 *data, u32 length);

#endif
