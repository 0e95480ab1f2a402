/**
 * How components hold each other: dynamic, greedy references that survive a swap.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package dev.lguest.api.service;
