

def test_config_folder_is_a_files_folder_and_none_for_text_dicts_and_loaded_configs(tmp_path):
    from pathlib import Path

    from clarify_engine.config import config_folder

    path = tmp_path / "job" / "analysis_config.json"
    assert config_folder(path) == tmp_path / "job"
    assert config_folder(str(path)) == tmp_path / "job"
    assert config_folder('  {"dataset_type": "text/csv"}') is None
    assert config_folder({"dataset_type": "text/csv"}) is None
    assert config_folder(Path("analysis_config.json")) == Path(".")
