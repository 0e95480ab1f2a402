package dev.lguest.itests;

import dev.lguest.api.cpu.X86CpuFactory;
import dev.lguest.api.service.ClassPreload;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;

import javax.inject.Inject;
import java.net.URL;
import java.util.Collections;
import java.util.Enumeration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * A component's classes are loaded when it is activated, not on a guest's first call:
 * ClassPreload, run inside the framework on the CPU bundle, loads every class the
 * bundle holds.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ClassPreloadIT {
    @Inject
    private BundleContext context;

    @Inject
    private X86CpuFactory cpus;

    @Configuration
    public Option[] config() {
        return new Option[] {DefaultBuild.options()};
    }

    @Test
    public void everyClassOfTheCpuBundleLoads() {
        Bundle bundle = FrameworkUtil.getBundle(cpus.getClass());
        Enumeration<URL> entries = bundle.findEntries("/", "*.class", true);
        long classes = Collections.list(entries).stream()
                .filter(u -> !u.getPath().endsWith("package-info.class")).count();
        assertTrue("the CPU bundle has its classes: " + classes, classes > 20);
        assertEquals(classes, ClassPreload.classesOf(cpus.getClass()));
    }

    @Test
    public void outsideABundleThereIsNothingToLoad() {
        assertEquals(0, ClassPreload.classesOf(String.class));
    }
}
