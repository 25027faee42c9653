package io.vlaserve.policy.model;

import io.vlaserve.policy.ShippedModel;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Consumer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/** Copies of the shipped package with an edited manifest: the fixtures of the format tests. */
public final class PackageCopies {
  private static final JsonMapper JSON = JsonMapper.builder().build();
  /** OpenVLA's prompt (prismatic's PurePromptBuilder for openvla-7b). */
  public static final String OPENVLA_PROMPT = "In: What action should the robot take to {instruction}?\nOut:";

  private PackageCopies() {}

  /** Copies the shipped package into {@code directory}, then lets {@code edit} change its manifest. */
  public static Path copy(Path directory, Consumer<ObjectNode> edit) {
    try (var files = Files.list(ShippedModel.DIRECTORY)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.copy(file, directory.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return edit(directory, edit);
  }

  /** Lets {@code edit} change the manifest of the package in {@code directory}. */
  public static Path edit(Path directory, Consumer<ObjectNode> edit) {
    try {
      Path manifest = directory.resolve("model.json");
      ObjectNode root = (ObjectNode) JSON.readTree(Files.readString(manifest));
      edit.accept(root);
      Files.writeString(manifest, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
      return directory;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes a test resource ({@code /tokenizers/NAME}) into the package as {@code tokenizer.json}. */
  public static void addTokenizer(Path directory, String resource) {
    try (InputStream in = PackageCopies.class.getResourceAsStream("/tokenizers/" + resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource /tokenizers/" + resource);
      }
      Files.copy(in, directory.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The shipped package as format /3 with its word list written as a WordLevel {@code tokenizer.json}
   * (models/tiny-vla/tooling/tokenizer_json.py words): the same ids, through the tokenizers library.
   */
  public static Path shippedAsWordLevelTokenizer(Path directory) {
    addTokenizer(directory, "tiny-vla-words.json");
    return copy(directory, root -> {
      root.put("format", ModelPackage.FORMAT);
      ObjectNode text = JSON.createObjectNode();
      text.put("tokenizer", "tokenizer.json");
      text.put("prompt", "{instruction}");
      text.put("max_prompt_tokens", root.path("text").path("max_instruction_tokens").asInt());
      text.put("pad_token", "<pad>");
      root.set("text", text);
    });
  }

  /**
   * The shipped package as format /3 with a Llama-style BPE tokenizer in OpenVLA's conventions: the
   * OpenVLA prompt, {@code <s>} from the post-processor, a lone {@code "▁"} after the prompt, the
   * action tokens as the last 256 ids of the 620-token vocabulary, {@code <PAD>} = 620, logits padded
   * to 640. The graphs are still the tiny VLA's, so it loads but does not serve.
   */
  public static Path llamaStyle(Path directory, int profileVocabSize, Consumer<ObjectNode> moreEdits) {
    addTokenizer(directory, "llama-style-bpe.json");
    return copy(directory, root -> {
      root.put("format", ModelPackage.FORMAT);
      ObjectNode text = JSON.createObjectNode();
      text.put("tokenizer", "tokenizer.json");
      text.put("prompt", OPENVLA_PROMPT);
      text.put("lowercase_instruction", true);
      text.putArray("suffix_tokens").add("\u2581");
      text.put("max_prompt_tokens", 24);
      text.put("pad_token", "<PAD>");
      root.set("text", text);
      root.put("vocab_size", 640);
      ((ObjectNode) root.path("action").path("profile")).put("vocab_size", profileVocabSize);
      moreEdits.accept(root);
    });
  }
}
