package dev.lguest.device;

import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.device.LguestFile;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.guest.GuestRegistry;
import dev.lguest.api.service.ServiceSlot;
import dev.lguest.api.switcher.Switcher;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.lang.foreign.MemorySegment;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * /dev/lguest as a service: lguest's misc device. Opening it gives a Launcher a file
 * for one guest; everything else happens in {@link OpenLguestFile}.
 *
 * The device holds no guest state of its own. Each open file keeps its guest, and
 * the switcher it runs guests with is looked up afresh on every call, so the switcher
 * can be replaced while guests run; when this bundle is replaced, its files detach
 * (ENODEV) and the next implementation adopts their guests. Updated in place, there
 * is no next implementation yet when the old one stops: the Launcher waits for it,
 * the guest parked in its Guest object.
 */
@Component(service = {LguestDevice.class, GuestRegistry.class})
public final class LguestDeviceComponent implements LguestDevice, GuestRegistry {
    private final ServiceSlot<Switcher> switcher = new ServiceSlot<>("switcher");

    // Every switcher is bound (MULTIPLE) and the slot uses the one a greedy unary
    // reference would: a unary reference of an instance activated while the best
    // switcher was being stopped (two swaps at once) stayed empty until some later
    // switcher registered (see ServiceSlot).
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSwitcher(Switcher s, Map<String, Object> properties) {
        switcher.bind(s, properties);
    }

    void unbindSwitcher(Switcher s) {
        switcher.unbind(s);
    }

    /** The files open on this implementation, to detach when it goes away. */
    private final Set<OpenLguestFile> files = ConcurrentHashMap.newKeySet();
    private volatile boolean deactivated;

    @Override
    public LguestFile open(MemorySegment launcherMemory) {
        return track(new OpenLguestFile(launcherMemory, switcher, files::remove));
    }

    @Override
    public LguestFile adopt(Guest guest) {
        return track(OpenLguestFile.adopting(guest, switcher, files::remove));
    }

    @Override
    public List<Guest> guests() {
        return files.stream()
                .map(OpenLguestFile::guest)
                .filter(g -> g != null && !g.isDead())
                .sorted(Comparator.comparingInt(Guest::id))
                .toList();
    }

    private OpenLguestFile track(OpenLguestFile file) {
        files.add(file);
        // The Launcher may adopt a guest here while this instance is being deactivated
        // (an update's refresh stops the revision it just started): a file that came
        // in after deactivate() looked at the files is detached here instead, or it
        // would run its guest on a device nothing will ever bind a switcher to again.
        if (deactivated) {
            file.detach();
        }
        return file;
    }

    /**
     * This implementation is going away: its files finish what they are doing and then
     * answer ENODEV, so their Launchers move their guests to the implementation bound
     * next. The guests themselves are untouched.
     */
    @Deactivate
    void deactivate() {
        deactivated = true;
        files.forEach(OpenLguestFile::detach);
        files.clear();
        // A guest thread waiting here for a switcher (one was just replaced) would
        // wait for nothing: no switcher is bound to a deactivated device. Retiring
        // the slot lets it go, and its file's read answers ENODEV.
        switcher.retire();
    }
}
