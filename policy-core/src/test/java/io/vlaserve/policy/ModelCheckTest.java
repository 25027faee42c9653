package io.vlaserve.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.ModelCheck.Finding;
import io.vlaserve.policy.ModelCheck.Status;
import io.vlaserve.policy.model.PackageCopies;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.node.ObjectNode;

/** The format /3 checks of {@code vla model check} (the /2 ones: cli ModelCommandTest). */
class ModelCheckTest {
  @TempDir Path directory;

  private static Finding finding(List<Finding> findings, String check) {
    return findings.stream().filter(f -> f.check().equals(check)).findFirst().orElseThrow(() -> new AssertionError(
        "no " + check + " finding in " + findings));
  }

  @Test
  void aTokenizerJsonPackageOfTheShippedGraphsPassesEveryCheck() {
    List<Finding> findings = ModelCheck.run(PackageCopies.shippedAsWordLevelTokenizer(directory));
    for (Finding finding : findings) {
      assertEquals(Status.OK, finding.status(), finding.toString());
    }
    assertTrue(finding(findings, "text").detail().contains("tokenizer.json and prompt template round trip, prompts of"
        + " up to 6 of 6 tokens"), findings.toString());
  }

  @Test
  void aPromptLengthAndPaddedLogitsTheGraphsDoNotHaveFailTheShapesCheck() {
    // OpenVLA's conventions on the tiny VLA's graphs: the manifest is consistent, the graphs are not it.
    List<Finding> findings = ModelCheck.run(PackageCopies.llamaStyle(directory, 620, root -> {}));
    assertEquals(Status.OK, finding(findings, "manifest").status(), findings.toString());
    Finding shapes = finding(findings, "shapes");
    assertEquals(Status.FAILED, shapes.status());
    assertTrue(shapes.detail().contains("instruction_ids") && shapes.detail().contains("logits"), shapes.detail());
    assertEquals(Status.OK, finding(findings, "text").status(), findings.toString());
    assertEquals(Status.SKIPPED, finding(findings, "chunk").status());
  }

  @Test
  void aSkillWhosePromptIsLongerThanTheGraphTakesIsNamed() {
    List<Finding> findings = ModelCheck.run(PackageCopies.llamaStyle(directory, 620,
        root -> ((ObjectNode) root.path("text")).put("max_prompt_tokens", 12)));
    Finding text = finding(findings, "text");
    assertEquals(Status.FAILED, text.status());
    assertTrue(text.detail().contains("expected: at most 12, the model's max_prompt_tokens"), text.detail());
  }

  @Test
  void aTemplateWithTextTheTokenizerCannotSpellIsNamed() {
    // The word-level tokenizer cannot spell OpenVLA's template: every unknown word becomes <unk>.
    PackageCopies.shippedAsWordLevelTokenizer(directory);
    List<Finding> findings = ModelCheck.run(PackageCopies.edit(directory,
        root -> ((ObjectNode) root.path("text")).put("prompt", "please {instruction} now")));
    Finding text = finding(findings, "text");
    assertEquals(Status.FAILED, text.status());
    assertTrue(text.detail().contains("cannot represent"), text.detail());
  }
}
