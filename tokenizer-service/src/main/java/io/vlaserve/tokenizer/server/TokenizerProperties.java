package io.vlaserve.tokenizer.server;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Where the service finds profiles beyond the built-in ones.
 *
 * @param profileDirs directories of profile JSON files ({@code *.json})
 * @param statsFiles OpenVLA {@code dataset_statistics.json} files; every key becomes a profile
 *     named {@code openvla/KEY}
 * @param openvlaBins bin edges for statistics-derived profiles (OpenVLA: 256)
 * @param openvlaVocabSize language-model vocabulary size for statistics-derived profiles (Llama 2: 32000)
 */
@ConfigurationProperties("vla.tokenizer")
public record TokenizerProperties(
    @DefaultValue List<Path> profileDirs,
    @DefaultValue List<Path> statsFiles,
    @DefaultValue("256") int openvlaBins,
    @DefaultValue("32000") int openvlaVocabSize) {}
