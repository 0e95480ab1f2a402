package dev.lguest.api.cpu;

/** The six segment registers, in the order the instruction encoding numbers them. */
public enum SegmentRegister {
    ES, CS, SS, DS, FS, GS;

    private static final SegmentRegister[] BY_NUMBER = values();

    public static SegmentRegister of(int number) {
        return BY_NUMBER[number];
    }
}
