package io.vlaserve.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfilesAndStatisticsTest {
  private static final String TWO_KEYS = """
      {"bridge_orig": {"action": {"q01": [-1, -2], "q99": [1, 2], "min": [-3, -3], "max": [3, 3],
                                  "mean": [0, 0], "std": [1, 1], "mask": [true, false]},
                       "num_transitions": 10, "num_trajectories": 2},
       "fractal20220817_data": {"action": {"q01": [-0.5, 0], "q99": [0.5, 1]}}}
      """;

  @Nested
  class Profiles {
    @Test
    void builtinsLoadAndDescribeThemselves() {
      ProfileRegistry registry = ProfileRegistry.withBuiltins();
      assertEquals(ProfileRegistry.BUILTIN_NAMES, registry.names());
      assertEquals(14, registry.profile("bimanual-14dof").dimensionCount());
      assertEquals("gripper", registry.profile("eef-delta-7dof").dimensions().get(6).name());
      assertFalse(registry.profile("widowx-bridge").dimensions().get(6).normalized());
    }

    @Test
    void jsonRoundTripKeepsEveryField() {
      for (ActionProfile profile : ProfileRegistry.withBuiltins().profiles()) {
        ActionProfile again = ProfileFiles.parse(ProfileFiles.toJson(profile), profile.source());
        assertEquals(profile, again);
      }
    }

    @Test
    void unknownFieldsAreErrorsNotSilentDefaults() {
      InvalidProfileException e = assertThrows(InvalidProfileException.class, () -> ProfileFiles.parse(
          "{\"name\":\"x\",\"scheme\":\"uniform\",\"bins\":8,\"token_layuot\":\"shared\",\"dimensions\":[]}", "x.json"));
      assertTrue(e.getMessage().startsWith("x.json: unknown field \"token_layuot\""), e.getMessage());
    }

    @Test
    void invalidValuesSayWhatWasExpected() {
      assertMessage("bins: 1 (expected: > 1)",
          "{\"name\":\"x\",\"scheme\":\"uniform\",\"bins\":1,\"dimensions\":[{\"name\":\"a\",\"low\":0,\"high\":1}]}");
      assertMessage("dimensions[0].high: 0.0 (expected: > low 1.0)",
          "{\"name\":\"x\",\"scheme\":\"uniform\",\"dimensions\":[{\"name\":\"a\",\"low\":1,\"high\":0}]}");
      assertMessage("scheme: \"rt2\" (expected: \"uniform\" or \"openvla\")",
          "{\"name\":\"x\",\"scheme\":\"rt2\",\"dimensions\":[]}");
      assertMessage("dimensions: empty (expected: at least one)",
          "{\"name\":\"x\",\"scheme\":\"uniform\",\"dimensions\":[]}");
      assertMessage("vocab_size: 100 (expected: > bins 256)",
          "{\"name\":\"x\",\"scheme\":\"openvla\",\"vocab_size\":100,\"dimensions\":[{\"name\":\"a\",\"low\":0,\"high\":1}]}");
    }

    private void assertMessage(String expectedSuffix, String json) {
      InvalidProfileException e = assertThrows(InvalidProfileException.class, () -> ProfileFiles.parse(json, "p"));
      assertTrue(e.getMessage().endsWith(expectedSuffix), () -> e.getMessage() + " should end with " + expectedSuffix);
    }

    @Test
    void unknownProfileListsTheKnownOnes() {
      UnknownProfileException e = assertThrows(UnknownProfileException.class,
          () -> ProfileRegistry.withBuiltins().tokenizer("franka"));
      assertEquals("profile \"franka\" not found (known: eef-delta-7dof, widowx-bridge, bimanual-14dof)", e.getMessage());
    }

    @Test
    void aDirectoryOfProfilesIsLoadedAndDuplicatesRefused(@TempDir Path dir) throws Exception {
      Files.writeString(dir.resolve("a.json"), ProfileFiles.toJson(ProfileRegistry.builtin("eef-delta-7dof")));
      ProfileRegistry registry = new ProfileRegistry().addDirectory(dir);
      assertEquals(1, registry.names().size());
      InvalidProfileException e = assertThrows(InvalidProfileException.class,
          () -> registry.add(ProfileRegistry.builtin("eef-delta-7dof")));
      assertTrue(e.getMessage().contains("defined twice"), e.getMessage());
    }
  }

  @Nested
  class Statistics {
    @Test
    void keysAreChosenByNameAndAmbiguityListsThem() {
      DatasetStatistics stats = DatasetStatistics.parse(TWO_KEYS, "stats.json");
      assertEquals(2, stats.action("bridge_orig").dimensions());
      UnknownProfileException missing = assertThrows(UnknownProfileException.class, () -> stats.action("libero"));
      assertEquals("unnorm key \"libero\" not found (known: bridge_orig, fractal20220817_data)", missing.getMessage());
      UnknownProfileException ambiguous = assertThrows(UnknownProfileException.class, () -> stats.action(null));
      assertTrue(ambiguous.getMessage().contains("choose one with --unnorm-key (known: bridge_orig, fractal20220817_data)"),
          ambiguous.getMessage());
    }

    @Test
    void aSingleKeyNeedsNoUnnormKeyAndMaskDefaultsToTrue() {
      DatasetStatistics stats = DatasetStatistics.parse("{\"only\": {\"action\": {\"q01\": [0], \"q99\": [1]}}}", "s");
      ActionStatistics action = stats.action(null);
      assertTrue(action.mask()[0]);
    }

    @Test
    void statisticsBecomeOpenVlaProfiles() {
      ProfileRegistry registry = new ProfileRegistry()
          .addStatistics(DatasetStatistics.parse(TWO_KEYS, "stats.json"), 256, 32000);
      ActionProfile bridge = registry.profile("openvla/bridge_orig");
      assertEquals(Scheme.OPENVLA, bridge.scheme());
      assertEquals(31744, bridge.vocabBase());
      assertFalse(bridge.dimensions().get(1).normalized());
      assertEquals("stats:stats.json#bridge_orig", bridge.source());
    }

    @Test
    void malformedStatisticsNameTheField() {
      InvalidProfileException e = assertThrows(InvalidProfileException.class, () -> DatasetStatistics.parse(
          "{\"k\": {\"action\": {\"q01\": [0, 1], \"q99\": [1]}}}", "s.json"));
      assertEquals("s.json: k.action.q99: 1 values (expected: 2, as many as q01)", e.getMessage());
      InvalidProfileException nan = assertThrows(InvalidProfileException.class, () -> DatasetStatistics.parse(
          "{\"k\": {\"action\": {\"q01\": [\"x\"], \"q99\": [1]}}}", "s.json"));
      assertTrue(nan.getMessage().contains("q01[0]: \"x\" (expected: a finite number)"), nan.getMessage());
      InvalidProfileException order = assertThrows(InvalidProfileException.class, () -> DatasetStatistics.parse(
          "{\"k\": {\"action\": {\"q01\": [1], \"q99\": [0]}}}", "s.json"));
      assertTrue(order.getMessage().contains("q99[0]: 0.0 (expected: >= q01 1.0)"), order.getMessage());
    }
  }
}
