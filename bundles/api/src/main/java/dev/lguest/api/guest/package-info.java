/**
 * The host's record of one guest (lguest's struct lguest) and the layout of struct lguest_data.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.lguest.api.guest;
