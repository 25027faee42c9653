package io.vlaserve.policy.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;

/**
 * msgpack with openpi's NumPy extension ({@code openpi_client/msgpack_numpy.py}), both ways: an
 * array travels as a map {@code {b"__ndarray__": True, b"data": <raw bytes>, b"dtype": "<f4",
 * b"shape": [..]}} (bytes keys, i.e. msgpack bin), a NumPy scalar as {@code {b"__npgeneric__":
 * True, b"data": <value>, b"dtype": ".."}}. Unpacked, msgpack values become Java ones: maps with
 * string keys (bin or str, as openpi's object hook accepts both), lists, {@code String},
 * {@code byte[]}, {@code Long}, {@code Double}, {@code Boolean}, null, and {@link NdArray}. Packed,
 * Java values are written the way Python's {@code msgpack.Packer} writes the matching Python values
 * (str keys as str, the smallest integer format, floats as float64), so a reply decodes in openpi's
 * client as the server's own would.
 *
 * <p>Unpacking trusts nothing: every declared length is checked against the bytes left before
 * anything is allocated (a header claiming four billion elements is refused, not attempted), nesting
 * is bounded, strings must be UTF-8, and an array's data must be exactly shape × item size. Every
 * refusal is an {@link IllegalArgumentException} saying where and what was expected. Thread-safe
 * (stateless).
 */
final class MsgpackNumpy {
  /** Maps and lists nested deeper than this are refused: observations are a few levels deep. */
  static final int MAX_DEPTH = 16;
  /** Array dimensions accepted. */
  static final int MAX_RANK = 8;

  private MsgpackNumpy() {}

  /**
   * A NumPy array as openpi sends it.
   *
   * @param dtype NumPy's dtype string ({@code "<f4"}, {@code "|u1"}, {@code ">i8"}, ...)
   * @param shape its dimensions
   * @param data its elements, row-major, in the dtype's byte order
   */
  record NdArray(String dtype, int[] shape, byte[] data) {
    NdArray {
      Dtype.of(dtype); // refuses what cannot be read
      long elements = elements(shape);
      if (elements * Dtype.of(dtype).size != data.length) {
        throw new IllegalArgumentException("array data: " + data.length + " bytes for shape " + Arrays.toString(shape)
            + " of " + dtype + " (expected " + elements * Dtype.of(dtype).size + ")");
      }
    }

    /** A float32 array ({@code "<f4"}) of {@code values}, row-major, with {@code shape}. */
    static NdArray float32(float[] values, int... shape) {
      ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      buffer.asFloatBuffer().put(values);
      return new NdArray("<f4", shape.clone(), buffer.array());
    }

    /** How many elements. */
    long size() {
      return elements(shape);
    }

    /** Whether its elements are unsigned bytes (NumPy's uint8). */
    boolean isUint8() {
      return Dtype.of(dtype).kind == 'u' && Dtype.of(dtype).size == 1;
    }

    /** Its elements as floats, whatever its numeric dtype (booleans and complex numbers are refused). */
    float[] floats(String field) {
      Dtype type = Dtype.of(dtype);
      if (type.kind != 'f' && type.kind != 'i' && type.kind != 'u') {
        throw new IllegalArgumentException(field + ": dtype " + dtype + " (expected a number type such as <f4)");
      }
      ByteBuffer buffer = ByteBuffer.wrap(data).order(type.order);
      float[] values = new float[(int) size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = switch (type.kind) {
          case 'f' -> switch (type.size) {
            case 2 -> Float.float16ToFloat(buffer.getShort());
            case 4 -> buffer.getFloat();
            default -> (float) buffer.getDouble();
          };
          case 'i' -> switch (type.size) {
            case 1 -> buffer.get();
            case 2 -> buffer.getShort();
            case 4 -> buffer.getInt();
            default -> buffer.getLong();
          };
          default -> switch (type.size) {
            case 1 -> buffer.get() & 0xff;
            case 2 -> buffer.getShort() & 0xffff;
            case 4 -> buffer.getInt() & 0xffffffffL;
            default -> unsignedLong(buffer.getLong());
          };
        };
      }
      return values;
    }

    String describe() {
      return "a " + dtype + " array of shape " + Arrays.toString(shape);
    }

    private static float unsignedLong(long value) {
      return value >= 0 ? value : (float) ((value >>> 1) * 2.0 + (value & 1));
    }

    private static long elements(int[] shape) {
      long elements = 1;
      for (int dimension : shape) {
        if (dimension < 0) {
          throw new IllegalArgumentException("array shape " + Arrays.toString(shape) + ": a negative dimension");
        }
        elements = Math.multiplyExact(elements, dimension);
      }
      return elements;
    }
  }

  /** A NumPy dtype string read: kind ('b', 'i', 'u', 'f'), item size, byte order. */
  private record Dtype(char kind, int size, ByteOrder order) {
    static Dtype of(String dtype) {
      if (dtype == null || dtype.length() < 2 || dtype.length() > 4) {
        throw unsupported(dtype);
      }
      char byteOrder = dtype.charAt(0);
      int start = "<>|=".indexOf(byteOrder) >= 0 ? 1 : 0;
      char kind = dtype.charAt(start);
      int size;
      try {
        size = Integer.parseInt(dtype.substring(start + 1));
      } catch (NumberFormatException e) {
        throw unsupported(dtype);
      }
      boolean known = switch (kind) {
        case 'b' -> size == 1;
        case 'i', 'u' -> size == 1 || size == 2 || size == 4 || size == 8;
        case 'f' -> size == 2 || size == 4 || size == 8;
        default -> false;
      };
      if (!known) {
        throw unsupported(dtype);
      }
      return new Dtype(kind, size, byteOrder == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    }

    private static IllegalArgumentException unsupported(String dtype) {
      return new IllegalArgumentException("array dtype \"" + abbreviate(String.valueOf(dtype)) + "\" (expected a NumPy"
          + " bool, integer or float dtype string such as |u1, <f4 or <f8)");
    }
  }

  /**
   * The value one msgpack message holds.
   *
   * @throws IllegalArgumentException if {@code bytes} is not exactly one well-formed msgpack value
   *     within the limits above
   */
  static Object unpack(byte[] bytes) {
    try (MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(bytes)) {
      Object value = new Reader(unpacker, bytes.length).value(0, "message");
      if (unpacker.hasNext()) {
        throw new IllegalArgumentException("message: " + (bytes.length - unpacker.getTotalReadBytes())
            + " bytes after the first msgpack value (expected one value per message)");
      }
      return value;
    } catch (MessagePackException e) {
      throw new IllegalArgumentException("message: not msgpack (" + e.getMessage() + ")");
    } catch (IOException e) {
      throw new IllegalArgumentException("message: not msgpack (" + e.getMessage() + ")");
    }
  }

  /**
   * {@code value} as one msgpack message: {@code Map} (string keys), {@code List}, {@code String},
   * {@code byte[]}, integer and floating-point boxes, {@code Boolean}, null and {@link NdArray}.
   */
  static byte[] pack(Object value) {
    try (MessageBufferPacker packer = MessagePack.newDefaultBufferPacker()) {
      write(packer, value);
      return packer.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // an in-memory buffer
    }
  }

  private static void write(MessageBufferPacker packer, Object value) throws IOException {
    switch (value) {
      case null -> packer.packNil();
      case NdArray array -> {
        packer.packMapHeader(4);
        binKey(packer, "__ndarray__");
        packer.packBoolean(true);
        binKey(packer, "data");
        packer.packBinaryHeader(array.data().length);
        packer.writePayload(array.data());
        binKey(packer, "dtype");
        packer.packString(array.dtype());
        binKey(packer, "shape");
        packer.packArrayHeader(array.shape().length);
        for (int dimension : array.shape()) {
          packer.packInt(dimension);
        }
      }
      case Map<?, ?> map -> {
        packer.packMapHeader(map.size());
        for (Map.Entry<?, ?> entry : map.entrySet()) {
          packer.packString((String) entry.getKey());
          write(packer, entry.getValue());
        }
      }
      case List<?> list -> {
        packer.packArrayHeader(list.size());
        for (Object element : list) {
          write(packer, element);
        }
      }
      case String text -> packer.packString(text);
      case byte[] bytes -> {
        packer.packBinaryHeader(bytes.length);
        packer.writePayload(bytes);
      }
      case Boolean flag -> packer.packBoolean(flag);
      case Double number -> packer.packDouble(number);
      case Float number -> packer.packDouble(number); // Python has one float type: float64
      case Number number -> packer.packLong(number.longValue());
      default -> throw new IllegalArgumentException("cannot pack " + value.getClass().getSimpleName());
    }
  }

  /** openpi's array maps have bytes keys: Python {@code b"data"} is msgpack bin, not str. */
  private static void binKey(MessageBufferPacker packer, String key) throws IOException {
    byte[] bytes = key.getBytes(StandardCharsets.US_ASCII);
    packer.packBinaryHeader(bytes.length);
    packer.writePayload(bytes);
  }

  /** One message's reader: every length checked against what is left of it. */
  private record Reader(MessageUnpacker unpacker, long length) {
    Object value(int depth, String where) throws IOException {
      if (!unpacker.hasNext()) {
        throw new IllegalArgumentException(where + ": the message ends early (truncated msgpack)");
      }
      MessageFormat format = unpacker.getNextFormat();
      return switch (format.getValueType()) {
        case NIL -> {
          unpacker.unpackNil();
          yield null;
        }
        case BOOLEAN -> unpacker.unpackBoolean();
        case INTEGER -> {
          if (format == MessageFormat.UINT64) {
            java.math.BigInteger big = unpacker.unpackBigInteger();
            if (big.bitLength() > 63) {
              throw new IllegalArgumentException(where + ": integer " + big + " (expected at most " + Long.MAX_VALUE + ")");
            }
            yield big.longValue();
          }
          yield unpacker.unpackLong();
        }
        case FLOAT -> unpacker.unpackDouble();
        case STRING -> text(where);
        case BINARY -> {
          int size = unpacker.unpackBinaryHeader();
          yield unpacker.readPayload(checked(size, 1, where));
        }
        case ARRAY -> {
          int size = checked(unpacker.unpackArrayHeader(), 1, where);
          nested(depth, where);
          List<Object> list = new ArrayList<>(size);
          for (int i = 0; i < size; i++) {
            list.add(value(depth + 1, where + "[" + i + "]"));
          }
          yield list;
        }
        case MAP -> map(depth, where);
        case EXTENSION -> throw new IllegalArgumentException(where + ": a msgpack extension type (expected plain"
            + " msgpack; arrays as openpi's {b\"__ndarray__\": True, ...} maps)");
      };
    }

    private Object map(int depth, String where) throws IOException {
      int size = checked(unpacker.unpackMapHeader(), 2, where);
      nested(depth, where);
      Map<String, Object> map = new LinkedHashMap<>();
      for (int i = 0; i < size; i++) {
        String key = key(where);
        map.put(key, value(depth + 1, where.equals("message") ? key : where + "/" + key));
      }
      if (Boolean.TRUE.equals(map.get("__ndarray__"))) {
        return array(map, where);
      }
      if (Boolean.TRUE.equals(map.get("__npgeneric__"))) {
        Object scalar = map.get("data");
        if (!(scalar instanceof Number || scalar instanceof Boolean)) {
          throw new IllegalArgumentException(where + ": a NumPy scalar without a number in \"data\"");
        }
        return scalar;
      }
      return map;
    }

    private static NdArray array(Map<String, Object> map, String where) {
      if (!(map.get("data") instanceof byte[] data)) {
        throw new IllegalArgumentException(where + ": an array without bytes in \"data\"");
      }
      if (!(map.get("dtype") instanceof String dtype)) {
        throw new IllegalArgumentException(where + ": an array without a dtype string");
      }
      if (!(map.get("shape") instanceof List<?> dimensions) || dimensions.size() > MAX_RANK) {
        throw new IllegalArgumentException(where + ": an array without a shape list of at most " + MAX_RANK
            + " dimensions");
      }
      int[] shape = new int[dimensions.size()];
      for (int i = 0; i < shape.length; i++) {
        if (!(dimensions.get(i) instanceof Long dimension) || dimension < 0 || dimension > Integer.MAX_VALUE) {
          throw new IllegalArgumentException(where + ": array shape " + dimensions + " (expected non-negative integers)");
        }
        shape[i] = (int) (long) dimension;
      }
      try {
        return new NdArray(dtype, shape, data);
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
    }

    private String key(String where) throws IOException {
      if (!unpacker.hasNext()) {
        throw new IllegalArgumentException(where + ": the message ends early (truncated msgpack)");
      }
      MessageFormat format = unpacker.getNextFormat();
      return switch (format.getValueType()) {
        case STRING -> text(where);
        case BINARY -> utf8(unpacker.readPayload(checked(unpacker.unpackBinaryHeader(), 1, where)), where);
        default -> throw new IllegalArgumentException(where + ": a map key of type "
            + format.getValueType().name().toLowerCase(Locale.ROOT) + " (expected str or bytes)");
      };
    }

    private String text(String where) throws IOException {
      int size = checked(unpacker.unpackRawStringHeader(), 1, where);
      return utf8(unpacker.readPayload(size), where);
    }

    /** {@code count} elements of at least {@code bytesEach} bytes must fit in what is left. */
    private int checked(int count, int bytesEach, String where) {
      long left = length - unpacker.getTotalReadBytes();
      if (count < 0 || (long) count * bytesEach > left) {
        throw new IllegalArgumentException(where + ": declares " + Integer.toUnsignedString(count)
            + " elements or bytes with " + left + " bytes left (truncated or corrupt msgpack)");
      }
      return count;
    }

    private static void nested(int depth, String where) {
      if (depth >= MAX_DEPTH) {
        throw new IllegalArgumentException(where + ": nested deeper than " + MAX_DEPTH + " levels");
      }
    }

    private static String utf8(byte[] bytes, String where) {
      try {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      } catch (CharacterCodingException e) {
        throw new IllegalArgumentException(where + ": a string that is not UTF-8");
      }
    }
  }

  static String abbreviate(String text) {
    return text.length() <= 64 ? text : text.substring(0, 61) + "...";
  }
}
