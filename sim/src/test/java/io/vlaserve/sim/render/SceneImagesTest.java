package io.vlaserve.sim.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.skills.BlockColor;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.WorldState;
import io.vlaserve.sim.expert.Episode;
import io.vlaserve.sim.expert.EpisodeRunner;
import io.vlaserve.sim.expert.EpisodeStep;
import io.vlaserve.sim.expert.ExpertConfig;
import io.vlaserve.skills.Skill;
import io.vlaserve.skills.Task;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Writes PNGs of a mid-task scene to {@code target/} for people to look at (README, debugging),
 * and checks that they read back as written.
 */
class SceneImagesTest {

  @Test
  void writesMidTaskScenesAsPng() throws Exception {
    Episode episode = new EpisodeRunner(
            WorldConfig.withBlocks(4), CameraConfig.DEFAULT, ExpertConfig.DEFAULT, false)
        .run(3, Task.putOnPlate(BlockColor.RED));
    // Mid-task: carrying the red block towards the plate.
    WorldState scene = episode.steps().stream()
        .filter(step -> step.subgoal().skill() == Skill.MOVE_ABOVE_PLATE)
        .skip(1)
        .findFirst()
        .map(EpisodeStep::state)
        .orElseThrow();
    assertTrue(scene.isHolding(BlockColor.RED));
    for (int size : new int[] {64, 224}) {
      TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(size, size));
      byte[] frame = renderer.newFrame();
      renderer.render(scene, frame);
      Path file = Path.of("target", "scene-" + size + ".png");
      Png.write(frame, size, size, file);
      BufferedImage read = ImageIO.read(file.toFile());
      assertEquals(size, read.getWidth());
      int middle = (size / 2 * size + size / 2) * 3;
      int rgb = (frame[middle] & 0xff) << 16 | (frame[middle + 1] & 0xff) << 8 | (frame[middle + 2] & 0xff);
      assertEquals(rgb, read.getRGB(size / 2, size / 2) & 0xffffff);
    }
  }
}
