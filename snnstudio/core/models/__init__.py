"""Spiking models (CSNN, VGG11, ResNet18), their ANN twins, and the neurons they use."""
