package io.vlaserve.e2e;

import io.vlaserve.planner.v1.GatewayMessage;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.skills.BlockColor;
import java.util.List;
import java.util.stream.Collectors;

/** What the end-to-end tests share: the scene their robots work in, and a readable session log. */
final class Scenes {
  private Scenes() {}

  /** A world seed whose scene has a red block, so the task applies. */
  static long sceneWithRedBlock(long from) {
    for (long seed = from; ; seed++) {
      TabletopWorld world = new TabletopWorld(seed, new WorldConfig(3, true));
      if (world.snapshot().blocks().stream().anyMatch(b -> b.color() == BlockColor.RED)) {
        return seed;
      }
    }
  }

  /** A session's messages but states and step reports, one per line, for failure messages. */
  static String describe(List<GatewayMessage> messages) {
    return messages.stream()
        .filter(m -> !m.hasState() && !m.hasStepForwarded())
        .map(m -> m.getMessageCase() + (m.hasSubgoal() ? " " + m.getSubgoal().getSubgoalId() + " "
            + m.getSubgoal().getStatus() + " " + m.getSubgoal().getReason()
            : m.hasOutcome() ? " " + m.getOutcome().getOutcome() + " " + m.getOutcome().getReason()
            : m.hasHold() ? " " + m.getHold().getReason()
            : m.hasAccepted() ? " " + m.getAccepted().getSessionId()
            : m.hasSafetyEvent() ? " " + m.getSafetyEvent().getKind() + " chunk " + m.getSafetyEvent().getChunkId()
                + " " + m.getSafetyEvent().getMessage()
            : m.hasPlan() ? " rev " + m.getPlan().getRevision() : ""))
        .collect(Collectors.joining("\n  ", "\n  ", ""));
  }
}
