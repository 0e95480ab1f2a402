package dev.lguest.shell;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.hypercalls.HypercallHandler;
import dev.lguest.api.launcher.GuestLauncher;
import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.segments.SegmentManager;
import dev.lguest.api.switcher.Switcher;
import dev.lguest.api.traps.TrapDelivery;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The components a user may name in `lguest:swap`, by the service each provides.
 */
final class Components {
    static final Map<String, Class<?>> BY_NAME = new LinkedHashMap<>();

    static {
        BY_NAME.put("cpu", X86CpuFactory.class);
        BY_NAME.put("pagetable", ShadowPageTables.class);
        BY_NAME.put("segments", SegmentManager.class);
        BY_NAME.put("traps", TrapDelivery.class);
        BY_NAME.put("hypercalls", HypercallHandler.class);
        BY_NAME.put("switcher", Switcher.class);
        BY_NAME.put("device", LguestDevice.class);
        BY_NAME.put("launcher", GuestLauncher.class);
    }

    private Components() {
    }
}
