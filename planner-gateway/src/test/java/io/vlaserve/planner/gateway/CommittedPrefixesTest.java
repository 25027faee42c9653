package io.vlaserve.planner.gateway;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.util.Durations;
import io.vlaserve.policy.v1.Decoding;
import io.vlaserve.policy.v1.PolicyMetadata;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which models real-time chunking can send committed prefixes to. */
class CommittedPrefixesTest {
  private static PolicyMetadata.Builder model(int chunkLength) {
    return PolicyMetadata.newBuilder().setModelName("m").setMaxChunkLength(chunkLength)
        .setStepPeriod(Durations.fromMillis(100))
        .addAllActionDimensions(List.of("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"));
  }

  @Test
  void anAutoregressiveModelWithSeveralStepsGetsPrefixesAndAServerThatDoesNotSayIsOne() {
    assertNotNull(CommittedPrefixes.of(model(4).setDecoding(Decoding.DECODING_AUTOREGRESSIVE).build(), null));
    assertNotNull(CommittedPrefixes.of(model(4).build(), null), "servers before the decoding field");
  }

  @Test
  void aParallelDecodingModelOrOneStepChunksAreBlendedInstead() {
    assertNull(CommittedPrefixes.of(model(4).setDecoding(Decoding.DECODING_PARALLEL).build(), null));
    assertNull(CommittedPrefixes.of(model(1).build(), null));
  }
}
