package io.vlaserve.testing;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * gRPC calls with raw bytes for messages: for tests that send what no generated stub would
 * (unparseable or oversized requests, every method of a service whatever its types) and for
 * transport baselines.
 */
public final class RawGrpc {
  /** Messages as they are on the wire. */
  public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private RawGrpc() {}

  /** A method ("vla.tokenizer.v1.TokenizerService/Encode") sending and receiving raw bytes. */
  public static MethodDescriptor<byte[], byte[]> method(String fullMethodName, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder(BYTES, BYTES).setFullMethodName(fullMethodName).setType(type)
        .build();
  }
}
