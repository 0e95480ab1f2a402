package dev.lguest.launcher;

import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;
import dev.lguest.api.service.ServiceSlot;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The Launcher: lguest's host userspace, as a service.
 *
 * It allocates the guest's memory (its own memory, as the Launcher process's memory
 * is the guest's in lguest), loads the kernel and the initrd, writes boot_params and
 * the initial page tables, and then talks to the host only through /dev/lguest: one
 * INITIALIZE write, then reads that run the guest, each returning when the guest
 * NOTIFYs. Everything that can be wrong with the user's input is found here, before
 * the guest exists, and reported as a one-line BootException.
 */
@Component(service = GuestLauncher.class)
public final class LauncherComponent implements GuestLauncher {
    static final int MIN_MEMORY_MB = 1;
    static final int MAX_MEMORY_MB = 2048;
    private static final long DEVICE_WAIT_SECONDS = 30;

    private final ServiceSlot<LguestDevice> devices = new ServiceSlot<>("/dev/lguest");

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindDevice(LguestDevice d) {
        devices.bind(d);
    }

    void unbindDevice(LguestDevice d) {
        devices.unbind(d);
    }

    @Override
    public GuestSession boot(BootSpec spec, OutputStream console) throws BootException {
        if (spec.memoryMegabytes() < MIN_MEMORY_MB || spec.memoryMegabytes() > MAX_MEMORY_MB) {
            throw new BootException(String.format("guest memory must be between %d and %d MB, not %d",
                    MIN_MEMORY_MB, MAX_MEMORY_MB, spec.memoryMegabytes()));
        }
        if (spec.block() != null) {
            throw new BootException("--block: this build has no virtio block device yet");
        }
        byte[] kernelImage = spec.kernelImage() != null ? spec.kernelImage() : readFile(spec.kernel(), "kernel");
        String kernelName = spec.kernel() != null ? spec.kernel().toString() : "the built-in demo guest";
        byte[] initrd = spec.initrd() != null ? readFile(spec.initrd(), "initrd") : null;

        GuestLayout layout = new GuestLayout((long) spec.memoryMegabytes() << 20);
        Arena arena = Arena.ofShared();
        boolean handedOver = false;
        try {
            MemorySegment launcherMemory = arena.allocate(layout.totalBytes(), PhysicalMemory.PAGE_SIZE);
            GuestMemory memory = new GuestMemory(launcherMemory);

            // The initrd goes at the very top of RAM, the page tables just below it.
            long initrdSize = initrd == null ? 0 : initrd.length;
            long initrdBase = layout.memoryBytes - ((initrdSize + PhysicalMemory.PAGE_SIZE - 1) & -PhysicalMemory.PAGE_SIZE);
            long pageTablesBase = initrdBase - layout.pageTableBytes();
            ElfKernel kernel = ElfKernel.load(kernelImage, memory, pageTablesBase, kernelName);
            if (initrd != null) {
                if (initrdBase < kernel.end) {
                    throw new BootException("the initrd does not fit in guest memory above the kernel");
                }
                memory.write(initrdBase, initrd);
            }
            int pgdir = layout.writePageTables(memory, initrdBase);
            layout.writeBootParams(memory, spec.commandLine(), initrdBase, initrdSize);
            memory.write8(layout.deviceDescriptorPage(), 0); // no devices: type 0 ends the list

            PrintStream out = console instanceof PrintStream p ? p : new PrintStream(console, true);
            if (spec.verbose()) {
                out.printf("Guest: %#x - %#x (%#x)%n", 0, layout.memoryBytes, layout.memoryBytes);
                out.printf("Kernel: entry %#x, image ends at %#x%n", kernel.entry, kernel.end);
                if (initrd != null) {
                    out.printf("Initrd: %#x - %#x%n", initrdBase, initrdBase + initrdSize);
                }
                out.printf("Page directory: %#x%n", pgdir);
                out.printf("Devices: descriptor page at %#x, none attached%n", layout.deviceDescriptorPage());
            }
            LguestDevice device = awaitDevice();
            RunningGuest session = new RunningGuest(device, launcherMemory, arena, layout, pgdir, kernel.entry, out);
            session.start();
            handedOver = true;
            return session;
        } finally {
            if (!handedOver) {
                arena.close();
            }
        }
    }

    private LguestDevice awaitDevice() throws BootException {
        try {
            LguestDevice d = devices.await(DEVICE_WAIT_SECONDS, TimeUnit.SECONDS);
            if (d == null) {
                throw new BootException("no /dev/lguest device in this build");
            }
            return d;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BootException("interrupted while waiting for /dev/lguest");
        }
    }

    private static byte[] readFile(Path path, String what) throws BootException {
        try {
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new BootException(String.format("cannot open %s %s: no such file", what, path));
        } catch (IOException | OutOfMemoryError e) {
            throw new BootException(String.format("cannot read %s %s: %s", what, path, e.getMessage()));
        }
    }
}
