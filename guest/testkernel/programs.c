/*
 * Program mode (`mode=programs`): run Linux programs from the initrd, one after the
 * other, then power off. The command line says which and with what arguments:
 *
 *     run=NAME[,ARG...]    one program, its arguments separated by commas
 *                          (several run= words run in order)
 *     stdin=FILE           read(0) takes FILE from the initrd (default: empty)
 *     stdin=console        read(0) waits for the virtio console's input
 *     time-programs        after each program, a line with how long it ran, in
 *                          microseconds of the host's clock (for benchmarks)
 *
 * A program that exits with a status other than 0 gets a line saying so; one that
 * the kernel had to end gets a line saying why (process.c). A missing initrd or
 * program, or a file that is not a static i386 executable, ends the guest with a
 * CRASH naming it, so the Launcher exits with an error too.
 */
#include "kernel.h"
#include "initrd.h"
#include "process.h"

#define MAX_ARGUMENTS   32

/* The value of the index-th word of the command line that starts with key, or -1. */
static int word_value(const char *line, const char *key, int index, char *out, u32 size)
{
        for (const char *p = line; *p; p++) {
                if (p != line && p[-1] != ' ')
                        continue;
                int k = 0;
                while (key[k] && p[k] == key[k])
                        k++;
                if (key[k] || index--)
                        continue;
                u32 n = 0;
                for (p += k; *p && *p != ' ' && n + 1 < size; p++)
                        out[n++] = *p;
                out[n] = '\0';
                return n;
        }
        return -1;
}

static char run_word[1024];
static char stdin_word[128];
static char crash_reason[128];

/* Crashes with "what: name", which the Launcher prints as the guest's cause of death. */
static void die_naming(const char *what, const char *name) __attribute__((noreturn));
static void die_naming(const char *what, const char *name)
{
        u32 n = 0;
        for (const char *s = what; *s && n < sizeof(crash_reason) - 1; s++)
                crash_reason[n++] = *s;
        for (const char *s = ": "; *s && n < sizeof(crash_reason) - 1; s++)
                crash_reason[n++] = *s;
        for (const char *s = name; *s && n < sizeof(crash_reason) - 1; s++)
                crash_reason[n++] = *s;
        crash_reason[n] = '\0';
        panic(crash_reason);
}

static int timing;

static void run_one(char *word)
{
        const char *argv[MAX_ARGUMENTS];
        int argc = 0;
        for (char *p = word; argc < MAX_ARGUMENTS;) {
                argv[argc++] = p;
                while (*p && *p != ',')
                        p++;
                if (!*p)
                        break;
                *p++ = '\0';
        }
        const struct initrd_file *file = initrd_find(argv[0]);
        if (!file)
                die_naming("testkernel: no such program in the initrd", argv[0]);
        const char *why = "";
        struct process *p = process_from_elf(argv[0], file->data, file->size, argc, argv, &why);
        if (!p)
                die_naming(why, argv[0]);
        /* The host refreshes lguest_data.time whenever it has control. */
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        s64 start = host_nanos();
        process_run(&p, 1);
        hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0);
        s64 took = host_nanos() - start;
        if (timing) {
                print("testkernel: ");
                print(argv[0]);
                print(" ran ");
                print_u32(divide_u64(took, 1000));
                print(" us\n");
        }
        if (p->exit_code && (p->exit_code & 0xFFFFFF00) != USER_KILLED(0)) {
                print("testkernel: ");
                print(argv[0]);
                print(" exited with status ");
                print_u32(p->exit_code);
                print("\n");
        }
        process_destroy(p);
}

void programs_main(const char *command_line)
{
        if (initrd_file_count <= 0)
                panic("mode=programs needs an initrd: a cpio archive of programs");
        if (word_value(command_line, "stdin=", 0, stdin_word, sizeof(stdin_word)) >= 0) {
                const struct initrd_file *input = initrd_find(stdin_word);
                if (has_word(command_line, "stdin=console"))
                        process_set_stdin_console();
                else if (input)
                        process_set_stdin_file(input->data, input->size);
                else
                        die_naming("testkernel: no such stdin file in the initrd", stdin_word);
        }
        timing = has_word(command_line, "time-programs");
        int count = 0;
        while (word_value(command_line, "run=", count, run_word, sizeof(run_word)) >= 0) {
                run_one(run_word);
                count++;
        }
        if (!count)
                panic("mode=programs: say which program to run with run=NAME[,ARG...]");
}
