/*
 * Finding an lguest bundle's file by its symbolic name, so that a test can name
 * bundles ("lguest-pagetable-simple") rather than paths.
 *
 * First a directory of copied bundles, if the system property lguest.bundles names
 * one (<name>.jar there, as this project's itests copy them); then every jar and
 * class directory on the test class path whose manifest has that Bundle-SymbolicName.
 * A user who depends on the kit has every lguest bundle on the class path already.
 */
package dev.lguest.exam;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.jar.Manifest;

final class BundleLocator {
    static final String BUNDLE_DIRECTORY_PROPERTY = "lguest.bundles";
    private static final String MANIFEST = "META-INF/MANIFEST.MF";

    private BundleLocator() {
    }

    /** A URL the framework can install the bundle from; throws with advice if there is none. */
    static String locate(String symbolicName) {
        return find(symbolicName).orElseThrow(() -> new IllegalStateException(
                "lguest exam kit: no bundle " + symbolicName + " on the test class path"
                        + " (add dev.lguest:" + symbolicName + " as a test dependency)"));
    }

    static Optional<String> find(String symbolicName) {
        String directory = System.getProperty(BUNDLE_DIRECTORY_PROPERTY, "");
        if (!directory.isEmpty()) {
            Path copied = Path.of(directory, symbolicName + ".jar");
            if (Files.isRegularFile(copied)) {
                return Optional.of(copied.toUri().toString());
            }
        }
        return Optional.ofNullable(classPathBundles().get(symbolicName));
    }

    /** Symbolic name to location for every bundle on the class path (the first one wins). */
    static Map<String, String> classPathBundles() {
        Map<String, String> bundles = new HashMap<>();
        try {
            ClassLoader loader = BundleLocator.class.getClassLoader();
            Enumeration<URL> manifests = loader.getResources(MANIFEST);
            while (manifests.hasMoreElements()) {
                URL url = manifests.nextElement();
                String name = symbolicName(url);
                String location = location(url);
                if (name != null && location != null) {
                    bundles.putIfAbsent(name, location);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the test class path", e);
        }
        return bundles;
    }

    private static String symbolicName(URL manifestUrl) throws IOException {
        try (InputStream in = manifestUrl.openStream()) {
            String header = new Manifest(in).getMainAttributes().getValue("Bundle-SymbolicName");
            return header == null ? null : header.split(";", 2)[0].trim();
        }
    }

    /**
     * The jar a manifest is in ("jar:file:/x.jar!/META-INF/MANIFEST.MF" gives
     * "file:/x.jar"), or for a class directory a Felix reference to the directory.
     */
    static String location(URL manifestUrl) {
        String url = manifestUrl.toString();
        if (url.startsWith("jar:") && url.endsWith("!/" + MANIFEST)) {
            return url.substring("jar:".length(), url.length() - ("!/" + MANIFEST).length());
        }
        if (url.startsWith("file:") && url.endsWith(MANIFEST)) {
            return "reference:" + url.substring(0, url.length() - MANIFEST.length());
        }
        return null;
    }
}
