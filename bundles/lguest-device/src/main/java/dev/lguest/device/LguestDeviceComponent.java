package dev.lguest.device;

import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.device.LguestFile;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.switcher.Switcher;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.lang.foreign.MemorySegment;

/**
 * /dev/lguest as a service: lguest's misc device. Opening it gives a Launcher a file
 * for one guest; everything else happens in {@link OpenLguestFile}.
 *
 * The device holds no guest state of its own. Each open file keeps its guest, and
 * the switcher it runs guests with is looked up afresh on every call, so either this
 * bundle or the switcher can be replaced while guests run.
 */
@Component(service = LguestDevice.class)
public final class LguestDeviceComponent implements LguestDevice {
    private final ServiceSlot<Switcher> switcher = new ServiceSlot<>("switcher");

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSwitcher(Switcher s) {
        switcher.bind(s);
    }

    void unbindSwitcher(Switcher s) {
        switcher.unbind(s);
    }

    @Override
    public LguestFile open(MemorySegment launcherMemory) {
        return new OpenLguestFile(launcherMemory, switcher);
    }
}
