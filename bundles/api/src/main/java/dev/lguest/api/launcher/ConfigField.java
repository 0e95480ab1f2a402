package dev.lguest.api.launcher;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One configuration field in a device descriptor: {u8 type, u8 len, data}. The guest
 * ORs 0x80 into the type once it has used the field; the data is little-endian.
 */
public record ConfigField(int type, byte[] data) {
    /** Field type of a virtqueue, VIRTIO_CONFIG_F_VIRTQUEUE. */
    public static final int VIRTQUEUE = 2;

    public ConfigField {
        if (type < 0 || type > 0x7f || data.length > 0xff) {
            throw new IllegalArgumentException("config field type " + type + " length " + data.length);
        }
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    public static ConfigField u32(int type, int value) {
        return new ConfigField(type, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array());
    }

    public static ConfigField u64(int type, long value) {
        return new ConfigField(type, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array());
    }
}
