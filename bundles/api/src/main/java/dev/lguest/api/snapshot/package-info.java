/**
 * Snapshots of a running guest: the file format ({@link dev.lguest.api.snapshot.SnapshotFile}),
 * the contract by which each component writes and reads its own part of a guest
 * ({@link dev.lguest.api.snapshot.GuestStateSection}, one section each), and the
 * service that saves and restores whole guests ({@link dev.lguest.api.snapshot.Snapshots}) and
 * the one that moves them live to another Launcher ({@link dev.lguest.api.snapshot.Migrations}).
 * 1.1: live migration ({@link dev.lguest.api.snapshot.Migrations}); a restore names the network
 * a saved network card joins.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.lguest.api.snapshot;
