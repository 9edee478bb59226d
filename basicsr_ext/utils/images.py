"""Image files: the extensions that folders of images are scanned for (datasets, sweeps, data preparation)."""

# lower case; compare with ``name.lower().endswith(IMG_EXTENSIONS)``
IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
