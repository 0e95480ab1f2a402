/*
 * The `lguest` command's wait for the services a guest needs: it returns as soon as
 * all are there, names the first missing one in the order of REQUIRED (the cause,
 * not a component waiting on it), and gives up after its bounded wait.
 */
package dev.lguest.launcher;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LguestMainTest {
    private static Set<String> allRequired() {
        Set<String> names = new HashSet<>();
        LguestMain.REQUIRED.forEach(service -> names.add(service.className()));
        return names;
    }

    @Test
    void aCompleteBuildIsReadyAtOnce() throws Exception {
        long start = System.nanoTime();
        assertEquals(Optional.empty(), LguestMain.firstMissing(allRequired()::contains, Duration.ofSeconds(30)));
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }

    @Test
    void theFirstMissingServiceIsNamedAfterTheWait() throws Exception {
        Set<String> registered = allRequired();
        registered.remove("dev.lguest.api.mmu.ShadowPageTables");
        registered.remove("dev.lguest.api.switcher.Switcher");

        long start = System.nanoTime();
        Optional<LguestMain.RequiredService> missing =
                LguestMain.firstMissing(registered::contains, Duration.ofMillis(200));

        assertTrue(System.nanoTime() - start >= Duration.ofMillis(200).toNanos(), "it waited");
        assertEquals("this build has no shadow page tables (no dev.lguest.api.mmu.ShadowPageTables service)",
                missing.orElseThrow().missingMessage());
    }

    @Test
    void aServiceThatComesLateIsWaitedFor() throws Exception {
        Set<String> registered = java.util.concurrent.ConcurrentHashMap.newKeySet();
        registered.addAll(allRequired());
        registered.remove("dev.lguest.api.cpu.X86CpuFactory");
        Thread late = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException ignored) {
                return;
            }
            registered.add("dev.lguest.api.cpu.X86CpuFactory");
        });
        late.start();
        assertEquals(Optional.empty(), LguestMain.firstMissing(registered::contains, Duration.ofSeconds(30)));
        late.join();
    }

    @Test
    void everyServiceTheBriefNamesIsRequired() {
        assertEquals(8, LguestMain.REQUIRED.size());
        assertEquals("dev.lguest.api.launcher.GuestLauncher", LguestMain.REQUIRED.getLast().className());
    }
}
