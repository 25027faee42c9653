package io.vlaserve.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The profiles a process knows, by name, each with its tokenizer built once. Built once at start-up
 * and then read-only: thread-safe for reads after construction.
 */
public final class ProfileRegistry {
  /** Built-in profiles shipped in this jar, under {@code profiles/NAME.json}. */
  public static final List<String> BUILTIN_NAMES = List.of("eef-delta-7dof", "widowx-bridge", "bimanual-14dof");

  private final Map<String, ActionTokenizer> tokenizers = new LinkedHashMap<>();

  /** An empty registry. */
  public ProfileRegistry() {}

  /** A registry holding the built-in profiles. */
  public static ProfileRegistry withBuiltins() {
    ProfileRegistry registry = new ProfileRegistry();
    for (String name : BUILTIN_NAMES) {
      registry.add(builtin(name));
    }
    return registry;
  }

  /** One built-in profile. */
  public static ActionProfile builtin(String name) {
    if (!BUILTIN_NAMES.contains(name)) {
      throw new UnknownProfileException("built-in profile", name, BUILTIN_NAMES);
    }
    return ProfileFiles.readResource("profiles/" + name + ".json");
  }

  /**
   * Adds a profile.
   *
   * @throws InvalidProfileException if a profile of that name is already registered
   */
  public ProfileRegistry add(ActionProfile profile) {
    if (tokenizers.containsKey(profile.name())) {
      throw new InvalidProfileException("profile \"" + profile.name() + "\" is defined twice ("
          + tokenizers.get(profile.name()).profile().source() + " and " + profile.source() + ")");
    }
    tokenizers.put(profile.name(), profile.tokenizer());
    return this;
  }

  /** Adds every {@code *.json} profile in a directory, in name order. */
  public ProfileRegistry addDirectory(Path directory) {
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
        add(ProfileFiles.read(file));
      }
    } catch (IOException e) {
      throw new InvalidProfileException("cannot list profile directory " + directory + ": " + e.getMessage(), e);
    }
    return this;
  }

  /** Adds one OpenVLA profile per key of a statistics file, named {@code openvla/KEY}. */
  public ProfileRegistry addStatistics(DatasetStatistics statistics, int bins, int vocabSize) {
    statistics.toOpenVlaProfiles("openvla/", bins, vocabSize).forEach(this::add);
    return this;
  }

  /**
   * The tokenizer of a profile.
   *
   * @throws UnknownProfileException listing the known names
   */
  public ActionTokenizer tokenizer(String name) {
    ActionTokenizer tokenizer = tokenizers.get(name);
    if (tokenizer == null) {
      throw new UnknownProfileException("profile", name, new ArrayList<>(tokenizers.keySet()));
    }
    return tokenizer;
  }

  public ActionProfile profile(String name) {
    return tokenizer(name).profile();
  }

  public Collection<String> names() {
    return List.copyOf(tokenizers.keySet());
  }

  public List<ActionProfile> profiles() {
    return tokenizers.values().stream().map(ActionTokenizer::profile).toList();
  }
}
