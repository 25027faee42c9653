package io.vlaserve.recorder;

import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.util.LinkedHashSet;
import java.util.Set;

/** Topics of protobuf messages, as MCAP readers (Foxglove, {@code @mcap/support}) decode them. */
public final class ProtobufTopics {
  private ProtobufTopics() {}

  /**
   * A topic whose messages are {@code type}: its schema is the message's full name and a
   * FileDescriptorSet of its file and every file it imports, dependencies first.
   */
  public static FlightRecorder.Topic topic(String name, Descriptor type) {
    Set<FileDescriptor> files = new LinkedHashSet<>();
    collect(type.getFile(), files);
    FileDescriptorSet.Builder set = FileDescriptorSet.newBuilder();
    for (FileDescriptor file : files) {
      set.addFile(file.toProto());
    }
    return new FlightRecorder.Topic(name, type.getFullName(), "protobuf", set.build().toByteArray(), "protobuf");
  }

  /** Adds {@code file} after its dependencies, each once. */
  private static void collect(FileDescriptor file, Set<FileDescriptor> into) {
    if (into.contains(file)) {
      return;
    }
    for (FileDescriptor dependency : file.getDependencies()) {
      collect(dependency, into);
    }
    into.add(file);
  }
}
