package dev.lguest.api.service;

import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

import java.net.URL;
import java.util.Enumeration;

/**
 * Loading a component's classes before it serves a guest, on the thread that starts it.
 *
 * A component revision that has never run loads each of its classes the first time a
 * guest's call reaches it: the bundle's jar read, the bytes defined and verified, the
 * static tables built, all on the guest's own thread while the guest stands still
 * (the first swap of a virtio console cost the guest 10 ms of that, with no other
 * cause on the machine). A component calls {@link #classesOf} when it is activated,
 * which is before it is bound to anyone: the loading moves to the thread that started
 * the bundle or bound the service, and the guest finds everything ready.
 */
public final class ClassPreload {
    private ClassPreload() {
    }

    /**
     * Loads and initializes every class of the bundle {@code anchor} comes from.
     * Outside a framework (a unit test) it does nothing. A class that cannot load is
     * skipped: this is only getting ahead of what the first call would do anyway, and
     * that call meets the same error where it can be reported. Returns how many loaded.
     */
    public static int classesOf(Class<?> anchor) {
        Bundle bundle = FrameworkUtil.getBundle(anchor);
        if (bundle == null) {
            return 0;
        }
        Enumeration<URL> entries = bundle.findEntries("/", "*.class", true);
        if (entries == null) {
            return 0;
        }
        ClassLoader loader = anchor.getClassLoader();
        int loaded = 0;
        while (entries.hasMoreElements()) {
            String path = entries.nextElement().getPath();
            String name = path.substring(path.startsWith("/") ? 1 : 0, path.length() - ".class".length())
                    .replace('/', '.');
            if (name.endsWith("package-info") || name.endsWith("module-info")) {
                continue;
            }
            try {
                Class.forName(name, true, loader);
                loaded++;
            } catch (ClassNotFoundException | LinkageError skipped) {
                // Not ours to load (an embedded entry the bundle does not export to
                // itself) or broken: the first real use reports it.
            }
        }
        return loaded;
    }
}
