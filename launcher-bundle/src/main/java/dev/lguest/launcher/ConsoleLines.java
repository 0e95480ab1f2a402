package dev.lguest.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayDeque;

/**
 * The guest's console and the Launcher's own --verbose lines, which share a terminal
 * without cutting into each other's lines.
 *
 * The guest's output goes to standard output as it comes; our lines go to standard
 * error. On a terminal both land on one screen, and the guest writes in pieces (2.6.24's
 * hvc driver sends at most 16 bytes per notification, and each notification makes a
 * "Notify on address" line), so a line of ours printed at once would land in the middle
 * of the guest's. Instead a line of ours waits while the guest's current line is
 * unfinished, and goes out right after the guest's next newline (or when the guest
 * ends). At most {@link #HELD_MAX} wait: a guest that writes without ever ending a
 * line cannot make us keep everything; the rest are counted, and the count said.
 */
final class ConsoleLines {
    static final int HELD_MAX = 1000;

    private final OutputStream console;
    private final PrintStream diagnostics;
    private final PrintStream consoleStream;
    private final ArrayDeque<String> held = new ArrayDeque<>();
    private long dropped;
    /** The guest's last byte was not a newline: its line is unfinished. */
    private boolean midLine;

    ConsoleLines(OutputStream console, PrintStream diagnostics) {
        this.console = console;
        this.diagnostics = diagnostics;
        this.consoleStream = new PrintStream(new GuestSide(), true);
    }

    /** Where the guest's console output goes (the devices' and the early console's stream). */
    PrintStream console() {
        return consoleStream;
    }

    /** One line of ours: printed now if the guest's line is finished, else after it is. */
    synchronized void diagnostic(String line) {
        if (midLine) {
            if (held.size() < HELD_MAX) {
                held.add(line);
            } else {
                dropped++;
            }
            return;
        }
        flushConsole();
        diagnostics.println(line);
        diagnostics.flush();
    }

    /** The guest has ended: whatever waits goes out now. */
    synchronized void finish() {
        flushConsole();
        releaseHeld();
    }

    private synchronized void guestWrote(byte[] bytes, int offset, int length) throws IOException {
        int lastNewline = -1;
        for (int i = offset + length - 1; i >= offset; i--) {
            if (bytes[i] == '\n') {
                lastNewline = i;
                break;
            }
        }
        if (lastNewline < 0) {
            console.write(bytes, offset, length);
            midLine |= length > 0;
            return;
        }
        int lineEnd = lastNewline + 1;
        console.write(bytes, offset, lineEnd - offset);
        midLine = false;
        if (!held.isEmpty() || dropped > 0) {
            console.flush();
            releaseHeld();
        }
        int rest = offset + length - lineEnd;
        if (rest > 0) {
            console.write(bytes, lineEnd, rest);
            midLine = true;
        }
    }

    private void releaseHeld() {
        while (!held.isEmpty()) {
            diagnostics.println(held.poll());
        }
        if (dropped > 0) {
            diagnostics.println("(" + dropped + " more --verbose lines dropped while the guest's line was unfinished)");
            dropped = 0;
        }
        diagnostics.flush();
    }

    private void flushConsole() {
        try {
            console.flush();
        } catch (IOException e) {
            // The console is gone; our line still goes to its own stream.
        }
    }

    /** The stream the guest's output comes through. */
    private final class GuestSide extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            guestWrote(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            guestWrote(bytes, offset, length);
        }

        @Override
        public void flush() throws IOException {
            synchronized (ConsoleLines.this) {
                console.flush();
            }
        }
    }

}
