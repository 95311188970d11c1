DROP TABLE contract_answers;
