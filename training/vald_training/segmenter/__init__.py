"""Training the learned lung segmenter: films projected from a real chest CT, warped to real lung shapes, randomised."""
