package dev.lguest.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * How long ago this process started, for the --verbose start-up line.
 *
 * The JDK's ProcessHandle start instant is the kernel's boot time plus the process's
 * start in clock ticks since boot; on Linux that boot time (btime in /proc/stat) is in
 * whole seconds, so the instant is up to a second early, by the same amount for every
 * process until the machine reboots: the start-up line said 1,608 ms where the
 * command, timed from outside, had run 906. Linux gives both ends of the interval
 * since boot instead (the start in /proc/self/stat, now in /proc/uptime), to 10 ms;
 * where those are not readable, the JDK's figure stands.
 */
final class ProcessAge {
    /** The unit of /proc/self/stat's times: USER_HZ, 100 on every Linux architecture Java runs on. */
    static final long TICKS_PER_SECOND = 100;
    /** starttime is the 22nd field of /proc/PID/stat, the 20th after the command's closing parenthesis. */
    private static final int START_FIELD_AFTER_COMMAND = 19;

    private ProcessAge() {
    }

    /** This process's age, or empty when neither Linux nor the JDK can tell. */
    static Optional<Duration> now(Instant now) {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.ISO_8859_1);
            String uptime = Files.readString(Path.of("/proc/uptime"), StandardCharsets.ISO_8859_1);
            Optional<Duration> age = fromProc(stat, uptime);
            if (age.isPresent()) {
                return age;
            }
        } catch (IOException | RuntimeException unreadable) {
            // Not Linux, or no /proc: the JDK's figure below.
        }
        return ProcessHandle.current().info().startInstant().map(started -> Duration.between(started, now));
    }

    /** The age from the texts of /proc/self/stat and /proc/uptime; empty if they do not parse. */
    static Optional<Duration> fromProc(String stat, String uptime) {
        int commandEnd = stat.lastIndexOf(')');
        if (commandEnd < 0) {
            return Optional.empty();
        }
        String[] fields = stat.substring(commandEnd + 1).trim().split("\\s+");
        String[] since = uptime.trim().split("\\s+");
        if (fields.length <= START_FIELD_AFTER_COMMAND || since.length == 0) {
            return Optional.empty();
        }
        try {
            long startedMillis = Long.parseLong(fields[START_FIELD_AFTER_COMMAND]) * 1000 / TICKS_PER_SECOND;
            long upMillis = Math.round(Double.parseDouble(since[0]) * 1000);
            return upMillis >= startedMillis ? Optional.of(Duration.ofMillis(upMillis - startedMillis)) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
