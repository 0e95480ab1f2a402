/*
 * Unpacking the initrd. The Launcher loads the file at the top of RAM and tells us
 * where in boot_params (ramdisk_image at 0x218, ramdisk_size at 0x21c), exactly as
 * for Linux. Linux's initramfs is a cpio archive in the "newc" format, usually
 * gzip'ed; we take both. In newc every member is a 110-byte ASCII header (the magic
 * "070701" and thirteen 8-digit hex fields), the name, and the data, with the header
 * plus name and the data each padded to 4 bytes; "TRAILER!!!" ends the archive.
 * Nothing is copied: the file table points into the archive.
 */
#include "kernel.h"
#include "initrd.h"

#define BOOT_RAMDISK_IMAGE      0x218
#define BOOT_RAMDISK_SIZE       0x21c
#define NEWC_HEADER             110

struct initrd_file initrd_files[INITRD_MAX_FILES];
int initrd_file_count;
int initrd_was_gzip;
int initrd_present;

static u32 hex_field(const u8 *header, int index)
{
        u32 value = 0;
        const u8 *p = header + 6 + 8 * index;
        for (int i = 0; i < 8; i++) {
                u8 c = p[i];
                u32 digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
                value = value << 4 | digit;
        }
        return value;
}

static int same(const char *a, const char *b)
{
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}

static u32 align4(u32 n)
{
        return (n + 3) & ~3u;
}

static int parse_newc(const u8 *archive, u32 size)
{
        u32 at = 0;
        initrd_file_count = 0;
        while (at + NEWC_HEADER <= size) {
                const u8 *header = archive + at;
                if (header[0] != '0' || header[1] != '7' || header[2] != '0' || header[3] != '7'
                    || header[4] != '0' || (header[5] != '1' && header[5] != '2'))
                        return initrd_file_count = -1;
                u32 mode = hex_field(header, 1);
                u32 file_size = hex_field(header, 6);
                u32 name_size = hex_field(header, 11);
                const char *name = (const char *)header + NEWC_HEADER;
                u32 data_at = align4(at + NEWC_HEADER + name_size);
                if (name_size == 0 || data_at > size || file_size > size - data_at || name[name_size - 1])
                        return initrd_file_count = -1;
                if (same(name, "TRAILER!!!"))
                        return initrd_file_count;
                while (name[0] == '.' && name[1] == '/')
                        name += 2;
                while (name[0] == '/')
                        name++;
                if (initrd_file_count < INITRD_MAX_FILES && (mode & 0170000) == 0100000)
                        initrd_files[initrd_file_count++] = (struct initrd_file){
                                name, archive + data_at, file_size, mode };
                at = align4(data_at + file_size);
        }
        /* An archive without its trailer: take what we found. */
        return initrd_file_count;
}

int initrd_load(const u8 *boot_params)
{
        u32 image = *(const u32 *)(boot_params + BOOT_RAMDISK_IMAGE);
        u32 size = *(const u32 *)(boot_params + BOOT_RAMDISK_SIZE);
        if (!image || !size)
                return initrd_file_count = -1;
        initrd_present = 1;
        if (image + size > ram_bytes)
                return initrd_file_count = -1;
        const u8 *archive = va(image);
        if (is_gzip(archive, size)) {
                u8 *unpacked;
                u32 unpacked_size;
                if (gunzip(archive, size, &unpacked, &unpacked_size) < 0)
                        return initrd_file_count = -1;
                initrd_was_gzip = 1;
                return parse_newc(unpacked, unpacked_size);
        }
        return parse_newc(archive, size);
}

const struct initrd_file *initrd_find(const char *name)
{
        for (int i = 0; i < initrd_file_count; i++)
                if (same(initrd_files[i].name, name))
                        return &initrd_files[i];
        return 0;
}
