package dev.lguest.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The terminal in raw mode while a guest owns it, as lguest.c's setup_console() does
 * with tcsetattr: no echo, no line buffering, no signals from ^C (the keys go to the
 * guest; three ^C within a second end it). Java has no termios, so this runs `stty`
 * on the terminal we inherited, saves its settings with `stty -g` and puts them back
 * on close and, should the JVM exit first, from a shutdown hook.
 *
 * Only the `lguest` command does this, and only when standard input is a terminal.
 */
final class TerminalMode implements AutoCloseable {
    private static final long STTY_SECONDS = 5;

    private final String saved;
    private final Thread restoreHook;
    private boolean restored;

    private TerminalMode(String saved) {
        this.saved = saved;
        this.restoreHook = new Thread(this::restore, "lguest-restore-terminal");
        Runtime.getRuntime().addShutdownHook(restoreHook);
    }

    /** Raw mode if standard input is a terminal and stty works; otherwise null. */
    static TerminalMode rawIfTerminal() {
        java.io.Console console = System.console();
        if (console == null || !console.isTerminal()) {
            return null;
        }
        String saved = stty("-g");
        if (saved == null || saved.isBlank() || stty("-icanon", "-echo", "-isig") == null) {
            return null;
        }
        return new TerminalMode(saved.trim());
    }

    private synchronized void restore() {
        if (!restored) {
            restored = true;
            stty(saved);
        }
    }

    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(restoreHook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook restores it, harmlessly twice.
        }
    }

    /** Runs stty on our terminal; returns what it printed, or null if it failed. */
    private static String stty(String... args) {
        String[] command = new String[args.length + 1];
        command[0] = "stty";
        System.arraycopy(args, 0, command, 1, args.length);
        try {
            Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(STTY_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroy();
                return null;
            }
            return out;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
