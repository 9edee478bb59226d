import logging
from os import path as osp

from basicsr.utils import get_root_logger
from basicsr.utils.dist_util import get_dist_info


def setup_logger(log_file=None, log_level=logging.INFO):
    """BasicSR's root logger, usable before the experiment folder exists.

    ``get_root_logger`` configures the level and file handler only on its first call; a call made earlier (data
    preparation logs before the experiment folder is created) would leave the logger without a level or log file.
    This sets the level on rank 0 (other ranks log errors only) and adds the file handler when it is missing.
    """
    logger = get_root_logger(logger_name='basicsr', log_level=log_level, log_file=log_file)
    rank, _ = get_dist_info()
    if rank != 0:
        logger.setLevel(logging.ERROR)
        return logger
    logger.setLevel(log_level)
    if log_file is not None:
        log_file = osp.abspath(log_file)
        if not any(getattr(h, 'baseFilename', None) == log_file for h in logger.handlers):
            handler = logging.FileHandler(log_file, 'w')
            handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s: %(message)s'))
            handler.setLevel(log_level)
            logger.addHandler(handler)
    return logger
