package dev.lguest.api.hypercalls;

import dev.lguest.api.guest.Guest;

/**
 * The hypercall service. Runs on the guest's thread whenever the guest trapped with
 * int $0x1f: first every pending entry of the asynchronous ring in lguest_data, in
 * order, then the call in the registers (eax, edx, ebx, ecx). An unknown call, or any
 * call before LGUEST_INIT, kills the guest; nothing is thrown.
 */
public interface HypercallHandler {
    void doHypercalls(Guest guest);

    /** Runs one hypercall with the given number and arguments. */
    void doHypercall(Guest guest, int number, int arg1, int arg2, int arg3);
}
